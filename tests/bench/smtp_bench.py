#!/usr/bin/python3
"""smtp_bench: drives messages through a running SMTP server and prints
figures; it never passes or fails anything.

  smtp_bench.py [--host 127.0.0.1] [--port 2525] [-n 2000]
                [-c 1,8,32] [--sizes 1024,102400] [--rcpt user@domain]
                [--pids PID,...] [--idle 1000] [--maildir DIR]
                [--postfix [--postfix-port 2626]] [--repeat R]

For each concurrency and body size it sends n messages (one per
connection-reuse session: EHLO once, then MAIL/RCPT/DATA per message over
PIPELINING) and prints accept throughput (messages/s to the 250 after the
data), p50/p99 latency per message, and the peak RSS of the processes
given with --pids (sampled). --idle N opens N idle sessions and prints the
RSS they cost. --maildir DIR also waits until DIR/new holds every message
and prints the end-to-end figure: seconds from the first connection until
every message is delivered, and the rate that makes. --postfix runs the
same load against a private Postfix instance (postfix_rival.sh, beside
this file) in the same run, delivering into the same Maildir (with a
fresh new/ for each case), and prints the ratios Bulwark/Postfix of the
accept and end-to-end rates for each case. The two servers take turns
case by case (Bulwark, then Postfix, for each case), so that whatever
drifts on a shared machine during the run falls on both; --repeat R
runs every case R times in that order and prints the median ratio.
Before each case the file systems are synced, so that neither server
pays for the other's write-back."""
import argparse
import asyncio
import os
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


async def read_reply(reader):
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        lines.append(line)
        if line[3:4] != b"-":
            return int(line[:3]), lines


async def client(args, body, count, lat, errors):
    reader, writer = await asyncio.open_connection(args.host, args.port)
    await read_reply(reader)
    writer.write(b"EHLO bench.example\r\n")
    await read_reply(reader)
    for _ in range(count):
        t0 = time.perf_counter()
        writer.write(b"MAIL FROM:<bench@bench.example>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                     % args.rcpt.encode())
        codes = [(await read_reply(reader))[0] for _ in range(3)]
        if codes[2] != 354:
            errors.append(codes)
            writer.write(b"RSET\r\n")
            await read_reply(reader)
            continue
        writer.write(body)
        code, _ = await read_reply(reader)
        if code != 250:
            errors.append(code)
        lat.append(time.perf_counter() - t0)
    writer.write(b"QUIT\r\n")
    await writer.drain()
    writer.close()


def make_body(size):
    line = b"x" * 76 + b"\r\n"
    head = b"Subject: bench\r\nFrom: bench@bench.example\r\n\r\n"
    n = max(1, (size - len(head)) // len(line))
    return head + line * n + b".\r\n"


async def sample_rss(pids, peak, stop):
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kib(pids))
        await asyncio.sleep(0.05)


def count_new(maildir):
    try:
        return len(os.listdir(os.path.join(maildir, "new")))
    except OSError:
        return 0


def clear_new(maildir):
    """Gives DIR a new, empty new/: every case starts with the same
    directory. The old one is moved aside, not emptied: on ext4 without
    a journal each create walks past every inode freed in the last
    minutes, so deleting 2000 files here would slow whichever server
    delivers next. The piles are removed by remove_piles() at the end."""
    d = os.path.join(maildir, "new")
    try:
        st = os.stat(d)
    except OSError:
        return
    os.rename(d, os.path.join(maildir, f".bench-pile-{time.time_ns()}"))
    os.mkdir(d, st.st_mode & 0o7777)
    os.chown(d, st.st_uid, st.st_gid)


def remove_piles(maildir):
    for name in os.listdir(maildir):
        if name.startswith(".bench-pile-"):
            shutil.rmtree(os.path.join(maildir, name), ignore_errors=True)


def wait_delivered(maildir, target, t0, limit=300):
    """Seconds from t0 until maildir/new holds target files, or None."""
    deadline = time.perf_counter() + limit
    while count_new(maildir) < target:
        if time.perf_counter() > deadline:
            return None
        time.sleep(0.02)
    return time.perf_counter() - t0


async def run(args, conc, size, pids):
    body = make_body(size)
    if args.maildir:
        clear_new(args.maildir)
    os.sync()
    before = count_new(args.maildir) if args.maildir else 0
    lat, errors, peak = [], [], [0]
    per = [args.n // conc + (1 if i < args.n % conc else 0) for i in range(conc)]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pids, peak, stop))
    t0 = time.perf_counter()
    await asyncio.gather(*(client(args, body, k, lat, errors) for k in per if k))
    elapsed = time.perf_counter() - t0
    stop.set()
    await sampler
    e2e, e2e_rate = "", 0.0
    if args.maildir:
        total = wait_delivered(args.maildir, before + len(lat), t0)
        if total:
            e2e_rate = len(lat) / total
            e2e = f"  e2e={total:6.2f} s ={e2e_rate:8.1f} msg/s"
        else:
            e2e = "  e2e=timeout"

    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0
    rate = len(lat) / elapsed
    print(f"{args.label:<8} c={conc:<3} size={size:<7} msgs={len(lat):<5} "
          f"accept={rate:8.1f} msg/s{e2e}  p50={p(0.5):7.2f} ms  "
          f"p99={p(0.99):7.2f} ms  errors={len(errors)}  peak_rss={peak[0] / 1024:.1f} MiB",
          flush=True)
    return rate, e2e_rate


async def idle(args, pids):
    before = rss_kib(pids)
    conns = []
    for _ in range(args.idle):
        r, w = await asyncio.open_connection(args.host, args.port)
        await read_reply(r)
        conns.append(w)
    await asyncio.sleep(0.5)
    after = rss_kib(pids)
    print(f"idle sessions={len(conns)} rss before={before / 1024:.1f} MiB "
          f"after={after / 1024:.1f} MiB", flush=True)
    for w in conns:
        w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-c", default="1,8,32")
    ap.add_argument("--sizes", default="1024,102400")
    ap.add_argument("--rcpt", default="bench@localhost")
    ap.add_argument("--pids", default="")
    ap.add_argument("--idle", type=int, default=0)
    ap.add_argument("--maildir", default="")
    ap.add_argument("--postfix", action="store_true")
    ap.add_argument("--postfix-port", type=int, default=2626)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    pids = [int(p) for p in args.pids.split(",") if p]
    cases = [(int(s), int(c)) for s in args.sizes.split(",")
             for c in args.c.split(",")]
    servers = [("bulwark", args.port, pids)]
    rival = os.path.join(HERE, "postfix_rival.sh")
    if args.postfix:
        subprocess.run([rival, "start", str(args.postfix_port)], check=True)
        servers.append(("postfix", args.postfix_port, []))
    results = {}        # (label, size, conc) -> [(accept, e2e), ...]
    try:
        for _ in range(args.repeat):
            for s, c in cases:
                for label, port, ps in servers:
                    args.label, args.port = label, port
                    results.setdefault((label, s, c), []).append(
                        asyncio.run(run(args, c, s, ps)))
        if args.idle:
            args.label, args.port = servers[0][0], servers[0][1]
            asyncio.run(idle(args, pids))
    finally:
        if args.postfix:
            subprocess.run([rival, "stop", str(args.postfix_port)])
        if args.maildir:
            remove_piles(args.maildir)
    if args.postfix:
        print_ratios(cases, results)


def median(values):
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def print_ratios(cases, results):
    """Per case, the median of the per-round ratios: each round's two
    runs were next to each other in time, so their ratio is the figure
    least touched by drift."""
    for s, c in cases:
        ours, theirs = results[("bulwark", s, c)], results[("postfix", s, c)]
        acc = [a / b for (a, _), (b, _) in zip(ours, theirs) if b]
        e2e = [ae / be for (_, ae), (_, be) in zip(ours, theirs) if ae and be]
        text = f"ratio    c={c:<3} size={s:<7} bulwark/postfix accept = {median(acc):.2f}"
        if e2e:
            text += f"  e2e = {median(e2e):.2f}"
        if len(acc) > 1:
            text += "  (rounds: " + " ".join(f"{r:.2f}" for r in acc) + ")"
        print(text)

if __name__ == "__main__":
    main()
