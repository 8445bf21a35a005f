# Benchmarks (bench/, docs/benchmarks.md). `make bench` builds build/bench/*;
# `make bench-run` runs iqs next to OpenCV DNN and ONNX Runtime in one go
# (generates the test models and installs onnxruntime-node into
# bench/node_modules when missing). CI: `make bench-run BENCH_ARGS=--quick`.
.PHONY: bench-run
BENCH_ARGS ?=
bench-run: bench
	BUILD=$(BUILD) PYTHON=$(PYTHON) $(PYTHON) bench/run.py $(BENCH_ARGS)
