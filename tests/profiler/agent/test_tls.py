"""TLS between the remote backend and an agent, with certificates made here (trustme): the
backend measures on an HTTPS agent whose CA it is told to trust, and refuses any other by name."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme
from ports import free_port

from star_search.errors import ProfileError, ProfilerError, SpecError
from star_search.profiler import MeasurementProtocol
from star_search.profiler.agent.server import AgentSettings
from star_search.profiler.agent_client import AgentClient
from star_search.profiler.backends import backend_for_profile
from star_search.profiler.device_profile import DeviceProfile, load_profile, with_changes
from star_search.profiler.local import file_sha256

ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 60.0


@dataclass
class Pki:
    """PEM files: the CA's certificate, and a server certificate (chain) with its key."""

    ca: Path
    cert: Path
    key: Path


def _issue(folder: Path, *names: str) -> Pki:
    """A new CA and a server certificate it signs for `names`, written under `folder`."""
    folder.mkdir(parents=True)
    ca = trustme.CA()
    leaf = ca.issue_cert(*names)
    pki = Pki(folder / "ca.pem", folder / "agent-cert.pem", folder / "agent-key.pem")
    ca.cert_pem.write_to_path(str(pki.ca))
    pki.cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(pki.key))
    return pki



@dataclass
class ServedAgent:
    url: str
    process: subprocess.Popen[bytes]


ServeAgent = Callable[..., ServedAgent]


@pytest.fixture
def serve_agent(tmp_path: Path, token_file: Path) -> Iterator[ServeAgent]:
    """serve_agent(pki or None) → a `star-search agent` on 127.0.0.1 (HTTPS with a `Pki`, plain
    HTTP without), stopped after the test."""
    processes: list[subprocess.Popen[bytes]] = []

    def serve(pki: Pki | None) -> ServedAgent:
        port = free_port()
        tls = [f"ssl_certfile={pki.cert}", f"ssl_keyfile={pki.key}"] if pki else []
        command = [sys.executable, "-m", "star_search.commands.cli", "agent", "host=127.0.0.1",
                   f"port={port}", f"token_file={token_file}", f"data_dir={tmp_path / f'data-{port}'}",
                   "device_id=test-cpu", *tls]
        log_path = tmp_path / f"agent-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        url = f"{'https' if pki else 'http'}://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, log_path.read_text()[-2000:]
            try:
                # Up is all this asks (the tests check the certificates): no verification here.
                if httpx.get(f"{url}/health", verify=False, timeout=1).status_code == 200:
                    return ServedAgent(url, process)
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.05)

    yield serve
    for process in processes:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)


def _remote_profile(token_file: Path, url: str, ca_file: Path | None = None) -> DeviceProfile:
    profile = load_profile(ROOT / "device_profiles" / "remote_cpu.yaml")
    return with_changes(profile, {"agent": {"urls": None, "url": url, "token_file": str(token_file),
                                            "token_env": None, "device": None,
                                            "ca_file": str(ca_file) if ca_file else None}})


def test_remote_backend_measures_on_an_https_agent(tmp_path: Path, serve_agent: ServeAgent,
                                                  token_file: Path, tiny_pte: Path,
                                                  quick_protocol: MeasurementProtocol) -> None:
    pki = _issue(tmp_path / "pki", "127.0.0.1", "localhost")
    agent = serve_agent(pki)
    url = agent.url
    assert url.startswith("https://")
    with pytest.raises(httpx.HTTPError):  # nothing answers in clear on that port
        httpx.get(url.replace("https://", "http://") + "/health", timeout=5)
    backend = backend_for_profile(_remote_profile(token_file, url, pki.ca))
    measurement = backend.measure(tiny_pte, quick_protocol)
    assert (measurement.source, measurement.agent_url) == ("measured", url)
    assert measurement.program_sha256 == file_sha256(tiny_pte)
    assert len(measurement.decode_samples_ms) == measurement.repeats * quick_protocol.decode_steps
    # A stopped agent does not wait on the idle TLS connection the backend keeps open.
    start = time.monotonic()
    agent.process.terminate()
    agent.process.wait(15)
    assert time.monotonic() - start < 10


def test_untrusted_or_mismatched_certificates_are_refused_by_name(
        tmp_path: Path, serve_agent: ServeAgent, token_file: Path, tiny_pte: Path,
        quick_protocol: MeasurementProtocol) -> None:
    pki = _issue(tmp_path / "pki", "127.0.0.1", "localhost")
    url = serve_agent(pki).url
    stranger = _issue(tmp_path / "other-ca", "127.0.0.1")
    for ca_file in (None, stranger.ca):  # the public CAs httpx trusts; another lab's CA
        backend = backend_for_profile(_remote_profile(token_file, url, ca_file))
        with pytest.raises(ProfilerError) as refused:
            backend.measure(tiny_pte, quick_protocol)
        message = str(refused.value)
        assert f"agent {url}: its TLS certificate is not trusted" in message, message
        assert "unable to get local issuer certificate" in message and "agent.ca_file" in message
        assert "Traceback" not in message
    # The right CA, but a certificate for another name than the one in the URL.
    named = _issue(tmp_path / "localhost-only", "localhost")
    misnamed_url = serve_agent(named).url
    client = AgentClient(misnamed_url, token_file.read_text().strip(),
                         verify=ssl.create_default_context(cafile=str(named.ca)))
    with pytest.raises(ProfilerError, match=r"not trusted \(IP address mismatch"):
        client.health()
    # Scheme and server disagree: each says which way round to set the URL.
    plain_url = serve_agent(None).url
    with pytest.raises(ProfilerError, match=r"TLS handshake failed \(is it serving plain http://\?\)"):
        AgentClient(plain_url.replace("http://", "https://"), "x" * 32).health()
    with pytest.raises(ProfilerError, match=r"URL must start with https://"):
        AgentClient(url.replace("https://", "http://"), "x" * 32).health()


def test_bad_tls_files_are_refused_before_serving(tmp_path: Path, token_file: Path) -> None:
    pki = _issue(tmp_path / "pki", "127.0.0.1")
    other = _issue(tmp_path / "other", "127.0.0.1")
    data_dir = tmp_path / "data"
    with pytest.raises(SpecError, match=r"field 'ssl_certfile' .*an existing PEM file"):
        AgentSettings(data_dir, "t" * 32, ssl_certfile=str(tmp_path / "absent.pem"), ssl_keyfile=str(pki.key))
    with pytest.raises(SpecError, match=r"field 'ssl_certfile' .*whose private key is ssl_keyfile="):
        AgentSettings(data_dir, "t" * 32, ssl_certfile=str(pki.cert), ssl_keyfile=str(other.key))
    with pytest.raises(SpecError, match=r"field 'ssl_keyfile'"):
        AgentSettings(data_dir, "t" * 32, ssl_certfile=str(pki.cert))
    assert AgentSettings(data_dir, "t" * 32, ssl_certfile=str(pki.cert), ssl_keyfile=str(pki.key))
    profile = _remote_profile(token_file, "https://127.0.0.1:9", tmp_path / "absent-ca.pem")
    with pytest.raises(ProfileError, match=r"field 'agent.ca_file' .*a readable PEM file"):
        backend_for_profile(profile)
    not_pem = tmp_path / "not-a-ca.pem"
    not_pem.write_text("hello")
    with pytest.raises(ProfileError, match=r"field 'agent.ca_file'"):
        backend_for_profile(_remote_profile(token_file, "https://127.0.0.1:9", not_pem))
