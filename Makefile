# photolake: make setup | make demo | make serve | make test | make test-fast | make lint | make docs | make models | make bench
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUBMIT := ./spark-submit.sh
DEMO_PHOTOS ?= 200
DEMO_PORT ?= 8765
SERVE_PORT ?= 8000
# detect's model files: ../shared/models where it exists (development machines), else the user cache,
# else downloaded
PHOTOLAKE_SHARED ?= ../shared
export PHOTOLAKE_MODELS ?= $(wildcard $(PHOTOLAKE_SHARED)/models)

.PHONY: s3a-jars setup demo serve models lint docs test test-fast bench clean check-java

setup: $(STAMP)

check-java:
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1); \
	if [ -z "$$v" ]; then \
	  echo "Java not found: Spark needs Java 17 or newer. Install it, e.g. 'sudo apt-get install openjdk-17-jre-headless' (Debian/Ubuntu) or 'brew install openjdk@17' (macOS), then run make again."; exit 1; \
	elif [ "$$v" -lt 17 ]; then \
	  echo "Java $$v found, but Spark 4 needs Java 17 or newer: install openjdk-17 (or newer) and put it first on PATH / set JAVA_HOME."; exit 1; \
	fi

$(STAMP): pyproject.toml | check-java
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# Class data sharing: an archive of the classes a job's JVM loads (from an ingest of a small generated
	@# release), which spark-submit.sh and the tests' session map instead of loading them one by one.
	@echo "making the JVM class archive (jobs start about 4 s sooner with it)"
	@tmp=$$(mktemp -d); \
	if $(SUBMIT) sample --out $$tmp/release --photos 20 --no-images > $$tmp/log 2>&1 && \
	   PHOTOLAKE_CLASS_ARCHIVE_OUT=$$tmp/classes.jsa $(SUBMIT) ingest --dataset $$tmp/release --lake $$tmp/lake >> $$tmp/log 2>&1 && \
	   [ -s $$tmp/classes.jsa ]; then mv $$tmp/classes.jsa $(VENV)/spark-classes.jsa; rm -rf $$tmp; \
	else echo "no class archive (jobs still run, a few seconds slower to start); see $$tmp/log"; fi
	touch $(STAMP)

# The whole pipeline on the built-in sample: make a release with images, serve its images on 127.0.0.1, and
# run the pipeline (ingest, download, extract, detect, cluster, users, recommend, report, export) in one
# Spark application, which then queries the lake (conf/demo.sql). Detection uses YOLOv3 when its weights are at hand,
# else yolov3-tiny (downloaded if it can be); without either the demo goes on without detections.
demo: setup
	@rm -rf output/sample output/lake output/images output/annotated output/report output/export
	@$(SUBMIT) sample --out output/sample --photos $(DEMO_PHOTOS) --image-base-url http://127.0.0.1:$(DEMO_PORT)
	@PYTHONPATH=lib $(PY) jobs/serve_images.py --dir output/sample/images --port $(DEMO_PORT) --quiet & server=$$!; \
	trap 'kill $$server 2>/dev/null' EXIT; \
	$(PY) -c "import socket, time, sys; [time.sleep(0.2) for _ in range(50) if socket.socket().connect_ex(('127.0.0.1', $(DEMO_PORT)))]"; \
	model=yolov3; \
	if ! $(PY) -c "import sys; sys.path.insert(0, 'lib'); from photolake.detect.models import found_locally; sys.exit(not found_locally('yolov3'))"; then \
	  model=yolov3-tiny; \
	  echo "detect: the full YOLOv3 weights (248 MB) are not at hand, so the demo uses yolov3-tiny ('make models' fetches both)"; \
	fi; \
	$(SUBMIT) pipeline --dataset output/sample --lake output/lake --images output/images \
	  --allow-hosts 127.0.0.1:$(DEMO_PORT) --set detect.model=$$model --set detect.required=false \
	  --set detect.annotate_dir=output/annotated --set users.source=both --sql conf/demo.sql
	@echo
	@echo "demo done:"
	@echo "  report       output/report/index.html (open it in a browser)"
	@echo "  exports      output/export/ ($$(ls output/export | paste -sd, - | sed 's/,/, /g'))"
	@echo "  notebooks    notebooks/ (01 download ... 06 users and recommendations) read output/lake"
	@echo "  lake         output/lake (./spark-submit.sh sql --lake output/lake \"SELECT * FROM image_shapes\"; queries in docs/analytics.md)"
	@if [ -d output/annotated ]; then \
	  echo "  images       output/images, with detected boxes in output/annotated; the release in output/sample"; \
	else \
	  echo "  images       output/images (no boxes drawn: detect was skipped, as its line above says); the release in output/sample"; \
	fi
	@echo "  service      make serve: search, browse and the recommendations on http://127.0.0.1:$(SERVE_PORT)/"

# The service over the lake (the demo's by default): the web app on http://127.0.0.1:8000/, the API under /api/v1
serve: setup
	$(SUBMIT) serve --lake output/lake --images output/images --port $(SERVE_PORT)

# The detection models' files, fetched ahead of time (for a machine that is online once, or an offline cluster)
models: setup
	$(SUBMIT) models fetch yolov3 yolov3-tiny yolox-nano

# pyflakes, pycodestyle and import order ([tool.ruff] in pyproject.toml)
lint: setup
	$(VENV)/bin/ruff check lib jobs tests bench

# README's option tables and docs/configuration.md, from the steps' declarations (photolake.stages, config)
docs: setup
	$(PY) -m photolake.docs

test: lint s3a-jars
	$(PY) -m pytest

# Hadoop's S3A connector, for the test of Spark's own table reads and writes on a local S3 server. The only
# copy on the package registries is in sagemaker_pyspark's source archive (hadoop-aws 3.3.1 and its AWS SDK,
# 190 MB); without it that test skips and says why.
S3A_JARS := $(VENV)/s3a-jars
s3a-jars: $(S3A_JARS)/.fetched
$(S3A_JARS)/.fetched: $(STAMP)
	@rm -rf $(S3A_JARS) && mkdir -p $(S3A_JARS)/archive
	@$(PY) -m pip download --quiet --no-deps --retries 1 --timeout 30 sagemaker_pyspark==1.4.5 \
	    -d $(S3A_JARS)/archive > /dev/null 2>&1 \
	  && tar xzf $(S3A_JARS)/archive/sagemaker_pyspark-1.4.5.tar.gz -C $(S3A_JARS) --strip-components=3 \
	    sagemaker_pyspark-1.4.5/deps/jars/hadoop-aws-3.3.1.jar sagemaker_pyspark-1.4.5/deps/jars/aws-java-sdk-bundle-1.11.901.jar \
	  && touch $@ || echo "Hadoop's S3A jars could not be fetched: the test of Spark on S3 will skip"
	@rm -rf $(S3A_JARS)/archive

# The tests that need no Spark session and run no job: a minute, for a quick check while editing
test-fast: setup
	$(PY) -m pytest --no-spark

bench: setup
	$(PY) bench/ingest.py
	$(PY) bench/download.py
	$(PY) bench/resize_quality.py
	$(PY) bench/exif_accuracy.py
	$(PY) bench/extract.py
	$(PY) bench/detect_map.py --model yolov3-tiny
	$(PY) bench/detect_map.py --model yolox-nano
	$(PY) bench/detect.py
	$(PY) bench/recommend.py
	$(PY) bench/search.py
	$(PY) bench/scale.py
	$(PY) bench/serve.py

clean:
	rm -rf output dist .pytest_cache
