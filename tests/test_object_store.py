"""The lake's and the images' files on an S3-compatible store: moto's S3 server on 127.0.0.1, reached by the
same URIs a cluster uses (s3a://, and s3:// as its alias), through photolake.storage: what the driver and the
executors do with lake paths themselves (existence checks, listings, the version marker), the download's
image files, extract's reads, the SQLite export of a lake there and the report; and a pipeline run whose
lake and images are there, Spark's own reads and writes going through Hadoop's S3A client (the jars that
``make s3a-jars`` fetches). docs/cluster.md says what was tested how."""

from __future__ import annotations

import io
import logging
import os
import re
import sqlite3

import pytest
from PIL import Image
from pyarrow import fs as pafs

from photolake import lake_version, storage
from tests.conftest import ROOT

moto_server = pytest.importorskip("moto.server", reason="moto (a dev dependency) runs the S3 server these tests use")
boto3 = pytest.importorskip("boto3")

BUCKET = "photolake-test"
S3A_JARS = ROOT / ".venv" / "s3a-jars"
# hadoop-aws 3.3.1 (the only S3A connector on the registries reachable here) beside pyspark's Hadoop 3.5
# client: the newer client's defaults for these are durations ("60s") and sizes ("64M"), which 3.3.1 reads as
# plain numbers; a cluster with the matching hadoop-aws needs none of them
S3A_COMPATIBLE = {
    "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    "fs.s3a.threads.keepalivetime": "60", "fs.s3a.connection.establish.timeout": "30000",
    "fs.s3a.connection.timeout": "200000", "fs.s3a.multipart.purge.age": "86400",
    "fs.s3a.connection.ttl": "300000", "fs.s3a.connection.acquisition.timeout": "60000",
    "fs.s3a.connection.idle.time": "60000", "fs.s3a.connection.request.timeout": "0",
    "fs.s3a.retry.interval": "500", "fs.s3a.retry.throttle.interval": "100",
    "fs.s3a.assumed.role.session.duration": "1800", "fs.s3a.multipart.size": "67108864",
    "fs.s3a.multipart.threshold": "134217728", "fs.s3a.block.size": "33554432", "fs.s3a.readahead.range": "65536",
}


@pytest.fixture(scope="module")
def s3():
    """A bucket on a local S3 server; the AWS variables point this process's clients at it while the module
    runs, and are put back after."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server's line per request
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    storage._bucket_store.cache_clear()
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    try:
        yield client
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        storage._bucket_store.cache_clear()
        server.stop()


def keys(client, prefix: str) -> list[str]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in listed if not o["Key"].endswith("/"))  # not pyarrow's folder markers


def jpeg(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize("scheme", ["s3a", "s3"])
def test_files_by_uri_on_s3(s3, scheme):
    root = f"{scheme}://{BUCKET}/files-{scheme}"
    storage.write_atomic(f"{root}/a/one.txt", b"one")
    storage.write_atomic(f"{root}/a/b/two.txt", io.BytesIO(b"two" * 100_000))  # streamed
    assert keys(s3, f"files-{scheme}/") == [f"files-{scheme}/a/b/two.txt", f"files-{scheme}/a/one.txt"]  # no .part
    assert storage.exists(f"{root}/a/one.txt") and not storage.exists(f"{root}/a/three.txt")
    assert storage.is_dir(f"{root}/a") and not storage.is_dir(f"{root}/a/one.txt")
    assert storage.list_files(root, recursive=True) == [f"{root}/a/b/two.txt", f"{root}/a/one.txt"]
    assert storage.list_dirs(f"{root}/a") == [f"{root}/a/b"]
    assert [(name, size) for name, size, _ in storage.file_listing(root)] == [("a/b/two.txt", 300_000),
                                                                             ("a/one.txt", 3)]
    assert storage.read_bytes(f"{root}/a/one.txt") == b"one"
    with storage.open_text(f"{root}/a/one.txt") as text:
        assert text.read() == "one"
    storage.remove(f"{root}/a/one.txt")
    assert not storage.exists(f"{root}/a/one.txt")
    assert storage.absolute(f"s3://{BUCKET}/x") == f"s3a://{BUCKET}/x"  # one name on both sides


def test_the_lake_version_marker_on_s3(s3):
    lake = f"s3a://{BUCKET}/lake"
    storage.write_atomic(f"{lake}/photos/part-0.parquet", b"not read")
    lake_version.mark_finished(lake, "run-1")
    version = lake_version.read(lake)
    assert version.run_id == "run-1"
    storage.write_atomic(f"{lake}/photos/part-1.parquet", b"a new part")
    lake_version.mark_finished(lake, "run-2")
    assert lake_version.read(lake).run_id == "run-2" and lake_version.read(lake).files != version.files


def test_download_stores_and_adopts_images_on_s3_and_extract_reads_them(s3, tmp_path):
    from photolake.download.fetch import Fetcher, FetchSettings, HostLimiter, StoredImages
    from photolake.download.plan import KEPT
    from photolake.download.run import handle
    from photolake.extract.image import extract_file
    from tests.http_servers import FaultyServer

    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "red.jpg").write_bytes(jpeg())
    images = f"s3a://{BUCKET}/images"
    with FaultyServer(tmp_path / "photos") as server:
        fetcher = Fetcher(FetchSettings(allow_hosts=(server.host,), width=None, timeout_s=2.0), images,
                          HostLimiter(0, 0))
        first = fetcher.fetch("oSf8ePoG9NU", f"{server.url}/photos/red.jpg")
        # the next run's task: the photo's file is found in its shard's listing and adopted, not fetched again
        again = handle(fetcher, StoredImages(images), "oSf8ePoG9NU", f"{server.url}/photos/red.jpg", None, "fetch")
        kept = handle(fetcher, StoredImages(images), "oSf8ePoG9NU", f"{server.url}/photos/red.jpg", first.path,
                      "check")
        fetched = server.recorder.count("/photos/red.jpg")
    assert first.status == "ok" and first.path.startswith(images), first.error
    assert storage.read_bytes(first.path) == jpeg()
    assert (again["status"], again["attempts"], again["path"], fetched) == ("ok", 0, first.path, 1)
    assert kept[KEPT]
    assert not [k for k in keys(s3, "images/") if k.endswith(".part")]
    row = extract_file("oSf8ePoG9NU", first.path, 3)
    assert (row["status"], row["width"], row["height"]) == ("ok", 64, 48), row.get("error")


def test_export_and_report_write_to_s3(s3, spark, analysed, tmp_path):
    from photolake import stages
    from photolake.export import write_sqlite
    from photolake.runs import RunSummary

    local_lake, config = analysed
    s3_lake = f"s3a://{BUCKET}/export-lake"
    bucket_fs, inner = storage.filesystem(s3_lake)
    for table in ("photos", "detections"):  # detections: a table in hive partitions
        pafs.copy_files(os.path.join(local_lake, table), f"{inner}/{table}", destination_filesystem=bucket_fs)
    counts = write_sqlite(s3_lake, ["photos", "detections"], f"s3a://{BUCKET}/export/photolake.sqlite")
    local = tmp_path / "copy.sqlite"
    local.write_bytes(storage.read_bytes(f"s3a://{BUCKET}/export/photolake.sqlite"))
    with sqlite3.connect(local) as db:
        for table in ("photos", "detections"):
            stored = spark.read.parquet(os.path.join(local_lake, table))
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == counts[table] == stored.count()
        assert {m for (m,) in db.execute("SELECT DISTINCT model FROM detections")} == \
            {r.model for r in spark.read.parquet(os.path.join(local_lake, "detections")).select("model").collect()}

    config = config.with_values(paths__report=f"s3a://{BUCKET}/report")
    stages.report(spark, config, RunSummary("report", "r-s3", config))
    written = keys(s3, "report/")
    assert "report/index.html" in written and sum(k.endswith(".png") for k in written) >= 10
    page = storage.read_bytes(f"s3a://{BUCKET}/report/index.html").decode()
    assert all(f"charts/{k.rsplit('/', 1)[1]}" in page for k in written if k.endswith(".png"))


def test_the_pipeline_with_its_lake_and_images_on_s3a(s3, analysed_release, tmp_path):
    """ingest -> download -> extract with ``paths.lake`` and ``paths.images`` on s3a://, twice, then ingest
    again by force: Spark writes the tables and swaps a table in through S3A, the executors store and read the
    images through pyarrow, and the second run finds every step's inputs unchanged by the same listings."""
    from tests.background import run_config, submit_pipeline

    jars = sorted(S3A_JARS.glob("*.jar"))
    if len(jars) < 2:
        pytest.skip(f"Hadoop's S3A jars are not in {S3A_JARS}: 'make s3a-jars' fetches them (from PyPI)")
    release, config = analysed_release
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    spark_conf = {f"spark.hadoop.{k}": v for k, v in {
        **S3A_COMPATIBLE, "fs.s3a.endpoint": endpoint, "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false", "fs.s3a.access.key": "testing",
        "fs.s3a.secret.key": "testing"}.items()}
    lake, images = f"s3a://{BUCKET}/pipeline/lake", f"s3a://{BUCKET}/pipeline/images"
    (tmp_path / "s3.toml").write_text(run_config(config, {
        "paths.lake": lake, "paths.images": images, "paths.report": str(tmp_path / "report"),
        "paths.export": str(tmp_path / "export"), "detect.cache_dir": str(tmp_path / "cache"),
        "detect.annotate_dir": str(tmp_path / "annotated")}, spark_conf))
    outputs, versions = [], []
    for run, steps in (("first", ("--to", "extract")), ("second", ("--to", "extract")),
                       ("forced", ("--to", "ingest", "--force"))):  # the photos table swapped on S3
        log = tmp_path / f"{run}.log"
        process = submit_pipeline(tmp_path / "s3.toml", "local[2]", log, f"--jars {','.join(map(str, jars))}",
                                  steps)
        assert process.wait(timeout=600) == 0, log.read_text()[-6000:]
        outputs.append(log.read_text())
        versions.append(lake_version.read(lake))
    def counted(table: str) -> tuple[int, int]:  # the run summary's rows in and rows written ("ok")
        found = re.search(rf"^  {table} +(\d+) +(\d+)", outputs[0], re.MULTILINE)
        return int(found.group(1)), int(found.group(2))

    downloads = storage.parquet_dataset(f"{lake}/downloads").to_table(columns=["status"]).column(0).to_pylist()
    metadata = storage.parquet_dataset(f"{lake}/image_metadata").to_table(columns=["status"]).column(0).to_pylist()
    assert storage.parquet_dataset(f"{lake}/photos").count_rows() == counted("photos")[1] > 40
    assert (len(downloads), downloads.count("ok")) == counted("downloads")  # a failed download: a row, not ok
    assert (len(metadata), metadata.count("ok")) == counted("image_metadata") == (downloads.count("ok"),) * 2
    stored = [k for k in keys(s3, "pipeline/images/") if k.endswith(".jpg")]
    assert len(stored) == downloads.count("ok") and not [k for k in keys(s3, "pipeline/") if ".staging" in k]
    for step in ("ingest", "download", "extract"):
        assert re.search(rf"{step}\s+ran", outputs[0]) and re.search(rf"{step}\s+unchanged", outputs[1]), outputs[1]
    assert re.search(r"ingest\s+ran", outputs[2]) and versions[2].files != versions[1].files
    assert storage.parquet_dataset(f"{lake}/photos").count_rows() == counted("photos")[1]
    assert not [k for k in keys(s3, "pipeline/") if ".staging" in k or ".trash" in k]


@pytest.mark.parametrize("uri, client, inner, listed", [
    ("gs://bucket/lake/photos", "GcsFileSystem", "bucket/lake/photos", "bucket/lake/photos/part-0.parquet"),
    ("gcs://bucket/lake", "GcsFileSystem", "bucket/lake", "bucket/lake/part-0.parquet"),
    ("abfss://box@acct.dfs.core.windows.net/lake", "AzureFileSystem", "box/lake", "box/lake/part-0.parquet"),
    ("file:///data/lake", "LocalFileSystem", "/data/lake", "/data/lake/part-0.parquet"),
])
def test_each_store_is_mapped_to_its_pyarrow_client(uri, client, inner, listed):
    """Stores without a server here: the client each URI gets, the path inside it, and a listed file's URI."""
    fs, path = storage.filesystem(uri)
    assert (type(fs).__name__, path) == (client, inner)
    assert storage._join(uri, listed) == (listed if uri.startswith("file://") else f"{uri}/part-0.parquet")
