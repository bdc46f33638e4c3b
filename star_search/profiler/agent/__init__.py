"""The profiler agent: an HTTP service that owns a machine's devices and serves measurement jobs.

`star-search agent host=… port=… token_file=… data_dir=…` runs one (see `server.serve`); the
remote backend (`star_search.profiler.remote`) is its client.
"""

from star_search.profiler.agent.server import AgentSettings, build_app, serve

__all__ = ["AgentSettings", "build_app", "serve"]
