"""Benchmarks. Their tool servers listen on 127.0.0.1, which the egress policy refuses by
default: allow it explicitly here, for each benchmark and the processes it starts."""

import os

os.environ["PROLIGHT_EGRESS_ALLOW"] = "127.0.0.1"
