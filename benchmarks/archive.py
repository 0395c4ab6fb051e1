"""A served archive: search and answer latency and the server's memory, beside a smaller index.

Starts ``rag serve`` on each index in turn (the baseline first), asks the news QA set's and the
fresh calibration set's questions over HTTP, and prints p50/p95 of ``/api/search``,
``/api/ask`` (extractive) and a filtered search (one outlet, one month), the server's peak RSS
and the index's disk, with the ratios to the baseline:

    rag ingest ../shared/corpus/ant-2018.jsonl.gz --db archive       # resumable
    python benchmarks/archive.py --db archive --baseline-db small-index
"""

from __future__ import annotations

import argparse
import calendar
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.metrics import percentile  # noqa: E402

QUESTIONS = [ROOT / "evals" / "news-qa.jsonl", ROOT / "evals" / "fresh-calibrate.jsonl"]


def _post(url: str, body: dict) -> tuple[float, dict]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as r:
        out = json.load(r)
    return time.perf_counter() - t, out


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    """VmHWM of the process (the server runs in one process)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(db: Path, questions: list[str], filtered: dict) -> dict:
    port = _port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("rag")), "serve", "--db", str(db), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=5) as r:
                    health = json.load(r)
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - t0 > 600:
                    raise SystemExit(f"rag serve --db {db} did not come up")
                time.sleep(0.5)
        if not health["chunks"]:
            raise SystemExit(f"{db} holds no indexed articles: pass the folder `rag ingest --db` wrote")
        _post(base + "/api/ask", {"question": questions[0]})  # first use loads what is lazy
        search = [_post(base + "/api/search", {"question": q, "k": 5})[0] for q in questions]
        ask = [_post(base + "/api/ask", {"question": q})[0] for q in questions]
        narrow = [_post(base + "/api/search", {"question": q, "k": 5, **filtered})[0] for q in questions]
        return {"articles": health["articles"], "chunks": health["chunks"], "sentences": health["sentences"],
                "search": search, "ask": ask, "filtered": narrow, "rss_mb": _peak_rss_mb(server.pid),
                "disk_mb": sum(p.stat().st_size for p in db.rglob("*") if p.is_file()) / 1e6}
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="the archive's index")
    ap.add_argument("--baseline-db", type=Path, required=True, help="a smaller index to compare with")
    ap.add_argument("--source", default="bbc", help="the outlet of the filtered search")
    ap.add_argument("--month", default="2018-05", help="the month of the filtered search")
    ap.add_argument("--limit", type=int, help="the first N questions only (a quick try)")
    args = ap.parse_args()
    questions = [json.loads(line)["question"] for path in QUESTIONS
                 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][:args.limit]
    y, m = map(int, args.month.split("-"))  # both ends inclusive: the month's first and last day
    filtered = {"sources": [args.source], "date_from": f"{args.month}-01",
                "date_to": f"{args.month}-{calendar.monthrange(y, m)[1]:02d}"}
    rows = {"baseline": measure(args.baseline_db, questions, filtered), "archive": measure(args.db, questions, filtered)}
    print(f"{len(questions)} questions over HTTP, one at a time; filtered: {args.source}, {args.month}\n")
    print("| index | articles | chunks | sentences | search p50/p95 ms | answer p50/p95 ms "
          "| filtered search p50 ms | serve peak RSS MB | disk MB |\n|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        def ms(xs, q):
            return percentile(xs, q) * 1000
        print(f"| {name} | {r['articles']} | {r['chunks']} | {r['sentences']} "
              f"| {ms(r['search'], 50):.0f} / {ms(r['search'], 95):.0f} | {ms(r['ask'], 50):.0f} / {ms(r['ask'], 95):.0f} "
              f"| {ms(r['filtered'], 50):.0f} | {r['rss_mb']:.0f} | {r['disk_mb']:.0f} |")
    a, b = rows["archive"], rows["baseline"]
    print(f"\narchive / baseline: {a['chunks'] / b['chunks']:.1f}× the chunks; search p50 "
          f"{percentile(a['search'], 50) / percentile(b['search'], 50):.2f}×, answer p50 "
          f"{percentile(a['ask'], 50) / percentile(b['ask'], 50):.2f}×, RSS {a['rss_mb'] / b['rss_mb']:.2f}×")


if __name__ == "__main__":
    main()
