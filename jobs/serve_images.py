"""Serve a folder of images over HTTP on 127.0.0.1, resizing on ?w= / ?h= as the imgix CDN does.

The sample's photo_image_url values point here (http://127.0.0.1:8765 by default), so the download job
fetches the sample's images the same way it fetches the real ones.
"""

from photolake.cli import job_parser, resolve_config, run_job
from photolake.sample.server import ImageServer

JOB = "serve-images"
NEEDS_SPARK = False  # spark-submit.sh runs it with plain Python: no JVM to start


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--dir", metavar="DIR", help="the folder to serve (default: <dataset>/images)")
    parser.add_argument("--port", type=int, help="port (default 8765)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--quiet", action="store_true", help="do not say where it serves (the demo's own server)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"image_server.port": args.port, "image_server.host": args.host})
    root = args.dir or f"{config.paths.dataset}/images"
    server = ImageServer(root, config.image_server.host, config.image_server.port)
    if not args.quiet:
        print(f"serving {root} at {server.url} (Ctrl-C stops)", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
