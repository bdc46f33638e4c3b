"""The remote backend against real agents: a pool of two, profiles, a search, agreement with local."""

from __future__ import annotations

import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from optuna.trial import TrialState

from star_search.errors import ProfileError, ProfilerError
from star_search.lower import ProgramCache, ProgramShapes
from star_search.profiler import LocalBackend, MeasurementProtocol
from star_search.profiler.agent_client import AgentClient
from star_search.profiler.backends import backend_for_profile
from star_search.profiler.device_profile import DeviceProfile, load_profile, with_changes
from star_search.profiler.local import file_sha256
from star_search.profiler.remote import RemoteBackend
from star_search.spec import ArchSpec, LayerSpec

ROOT = Path(__file__).resolve().parents[3]


def _remote_profile(token_file: Path, *urls: str) -> DeviceProfile:
    profile = load_profile(ROOT / "device_profiles" / "remote_cpu.yaml")
    return with_changes(profile, {"agent": {"urls": list(urls), "token_file": str(token_file),
                                            "token_env": None, "url": None}})


def test_one_backend_spreads_over_two_agents(tmp_path: Path, start_agent, token_file: Path,
                                             tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    lab_a = start_agent(tmp_path / "a", device_id="lab-a", cores="[0]")
    lab_b = start_agent(tmp_path / "b", device_id="lab-b", cores="[1]")
    backend = backend_for_profile(_remote_profile(token_file, lab_a.url, lab_b.url))
    assert isinstance(backend, RemoteBackend) and backend.device_id == "remote:remote_cpu"
    with ThreadPoolExecutor(2) as pool:  # two search workers measuring at once
        measurements = list(pool.map(lambda _: backend.measure(tiny_pte, quick_protocol), range(2)))
    assert {m.agent_url for m in measurements} == {lab_a.url, lab_b.url}
    assert {m.device_id for m in measurements} == {"lab-a", "lab-b"}
    for m in measurements:
        assert m.source == "measured" and m.program_sha256 == file_sha256(tiny_pte)
        assert len(m.decode_samples_ms) == m.repeats * quick_protocol.decode_steps
    # Each agent received the program once, content-addressed, and kept the result.
    for agent in (lab_a, lab_b):
        assert (agent.data_dir / "programs" / f"{file_sha256(tiny_pte)}.pte").is_file()
        assert [job["state"] for job in agent.http.get("/jobs").json()] == ["done"]
    # One worker alone alternates between idle agents.
    one_by_one = [backend.choose_agent().url for _ in range(4)]
    assert one_by_one in ([lab_a.url, lab_b.url] * 2, [lab_b.url, lab_a.url] * 2)


def test_unreachable_agents_and_bad_tokens_are_named(tmp_path: Path, start_agent, token_file: Path,
                                                     tiny_pte: Path, quick_protocol: MeasurementProtocol,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    agent = start_agent(tmp_path / "a")
    closed = "http://127.0.0.1:9"  # discard port: nothing listens there
    backend = backend_for_profile(_remote_profile(token_file, closed, agent.url))
    assert backend.measure(tiny_pte, quick_protocol).agent_url == agent.url  # the dead one is skipped
    with pytest.raises(ProfilerError, match=r"no agent reachable: agent http://127\.0\.0\.1:9 unreachable"):
        RemoteBackend([AgentClient(closed, "x" * 32)], "pool").measure(tiny_pte, quick_protocol)
    with pytest.raises(ProfilerError, match="rejected the token"):
        AgentClient(agent.url, "not-the-token-0123456789").measure(tiny_pte, quick_protocol)
    monkeypatch.delenv("STAR_SEARCH_AGENT_TOKEN", raising=False)
    profile = load_profile(ROOT / "device_profiles" / "remote_cpu.yaml")
    with pytest.raises(ProfileError, match=r"agent\.token_env.*STAR_SEARCH_AGENT_TOKEN"):
        backend_for_profile(profile)


# ~25M parameters, ~5 ms per decode step here: big enough that a step is compute, not overhead.
MEDIUM = ArchSpec(d_model=512, layers=(LayerSpec("conv"), LayerSpec("attention"), LayerSpec("conv"),
                                       LayerSpec("attention")),
                  n_heads=8, n_kv_heads=2, head_dim=64, ffn_dim=2048, vocab_size=8192, name="medium")
ROUNDS = 3


@pytest.mark.slow
def test_agent_and_local_agree_on_decode_latency(tmp_path: Path, start_agent, token_file: Path,
                                                 tiny_program_cache: ProgramCache) -> None:
    """The same .pte re-timed here, outside the agent, gives the agent's decode p50 within 10%.

    Single runs of the same program differ by up to ~10% here (a shared virtual machine), so runs
    alternate (agent, local, agent, ...) and the medians of ROUNDS p50s per side are compared.
    Each agent run uses another warm-up count so that the agent's cache does not answer it.
    """
    pte = tiny_program_cache.get_or_lower(MEDIUM, ProgramShapes(prompt_len=32, max_seq_len=64)).path
    agent = start_agent(tmp_path / "a", cores="[0]")
    client = AgentClient(agent.url, token_file.read_text().strip())
    protocol = MeasurementProtocol(threads=1, warmup=2, repeats=10, max_repeats=20, cv_target=0.02,
                                   prompt_len=32, decode_steps=32, timeout_s=300)
    remote, local = [], []
    for warmup in range(2, 2 + ROUNDS):
        remote.append(client.measure(pte, replace(protocol, warmup=warmup)))
        local.append(LocalBackend(cores=[0]).measure(pte, replace(protocol, warmup=warmup)))
    remote_p50 = statistics.median(m.decode_p50_ms for m in remote)
    local_p50 = statistics.median(m.decode_p50_ms for m in local)
    noise = [(round(m.decode_p50_ms, 4), round(m.decode_cv, 3), round(m.decode_repeat_cv, 3), m.repeats)
             for m in remote + local]
    print(f"agent p50 {remote_p50:.4f} ms, local p50 {local_p50:.4f} ms, ratio {remote_p50 / local_p50:.3f}; "
          f"(p50, step CV, repeat CV, repeats) per run: {noise}")
    assert all(m.device_id == "test-cpu" and m.backend == "local" for m in remote)
    assert 0.9 <= remote_p50 / local_p50 <= 1.1, noise


@pytest.mark.slow
def test_a_search_measures_on_two_agents(tmp_path: Path, start_agent, token_file: Path) -> None:
    from star_search.proxies.suite import proxy_config_for_tier
    from star_search.search import SearchSettings, open_study, run_search
    from star_search.space import parse_space

    lab_a = start_agent(tmp_path / "a", device_id="lab-a", cores="[0]")
    lab_b = start_agent(tmp_path / "b", device_id="lab-b", cores="[1]")
    profile = _remote_profile(token_file, lab_a.url, lab_b.url)
    profile = with_changes(profile, {"threads": 1, "shapes": {"prompt_len": 8, "decode_steps": 4},
                                     "protocol": {"repeats": 2, "max_repeats": 2, "timeout_s": 120}})
    space = parse_space({"name": "tiny", "fixed": {"vocab_size": 256, "head_dim": 16, "n_kv_heads": 2,
                                                   "ffn_multiple_of": 16, "max_seq_len": 64},
                         "params": {"d_model": {"choices": [32, 64]}},
                         "layers": [{"slots": [{"mixer": ["conv", "attention"]}, "conv"]}]})
    settings = SearchSettings(space=space, profile=profile, out_dir=tmp_path / "run", n_trials=2, seed=0,
                              population_size=4,
                              proxies=replace(proxy_config_for_tier("demo"), steps=10))
    run_search(settings, echo=lambda _: None)
    trials = open_study(settings).get_trials(states=(TrialState.COMPLETE,))
    measurements = [trial.user_attrs["measurement"] for trial in trials]
    assert len(measurements) == 2, [t.user_attrs.get("fail_reason") for t in open_study(settings).trials]
    assert {m["agent_url"] for m in measurements} == {lab_a.url, lab_b.url}
    assert {m["device_id"] for m in measurements} == {"lab-a", "lab-b"}
    assert all(m["source"] == "measured" and 0 < m["delegated_fraction"] <= 1 for m in measurements)
