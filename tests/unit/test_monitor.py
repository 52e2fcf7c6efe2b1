"""server/monitor.py: hdr buckets (values Redis 7.0.15 printed), latency samples, percentiles."""

from __future__ import annotations

from server.config import Config
from server.monitor import CommandStat, Monitor, hdr_highest, hdr_lowest


def test_hdr_buckets_match_redis_histogram_keys() -> None:
    # LATENCY HISTOGRAM keys redis-server printed: 1024 ns * 2^k -> highest equivalent / 1000
    assert [hdr_highest(1024 << k) // 1000 for k in (3, 10, 15)] == [8, 1056, 33816]
    assert hdr_lowest(255) == 255 and hdr_lowest(257) == 256 and hdr_lowest(3000) == 2992
    for v in (1, 300, 12345, 10**6, 987654321):
        assert hdr_lowest(v) <= v <= hdr_highest(v)
        assert (hdr_highest(v) - hdr_lowest(v) + 1) * 128 <= max(v, 128) * 2  # 2 significant digits


def test_latency_samples_need_the_threshold() -> None:
    cfg = Config()
    m = Monitor(cfg)
    m.latency_sample("expire-cycle", 0.5)
    assert m.latency == {}  # latency-monitor-threshold 0: off
    cfg.latency_monitor_threshold = 10
    m.latency_sample("expire-cycle", 0.009)
    assert m.latency == {}
    m.latency_sample("expire-cycle", 0.012)
    m.latency_sample("expire-cycle", 0.030)  # same second: one sample, the max
    ev = m.latency["expire-cycle"]
    assert [ms for _, ms in ev.samples] == [30] and ev.max == 30


def test_percentiles_and_cdf() -> None:
    m = Monitor(Config())
    st = CommandStat()
    for ns in [1000] * 98 + [50_000, 2_000_000]:
        b = hdr_lowest(ns)
        st.hist[b] = st.hist.get(b, 0) + 1
    (p50, v50), (p99, v99), (p999, v999) = m.percentiles(st, [50, 99, 99.9])
    assert v50 == hdr_highest(1000) / 1000
    assert v99 == hdr_highest(hdr_lowest(50_000)) / 1000
    assert v999 == hdr_highest(hdr_lowest(2_000_000)) / 1000
    cdf = m.cdf(st)
    assert cdf[0] == (hdr_highest(1024) // 1000, 98) and cdf[-1][1] == 100
    assert [n for _, n in cdf] == sorted(n for _, n in cdf)
