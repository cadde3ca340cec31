#!/usr/bin/env python3
"""Independent values for the DTLS 1.3 ClientHellos of DIR/*.pcap, as TSV on stdout.

usage: dtls13_expected.py DIR [JA4_PLUGIN_DIR] > DIR/expected.tsv

Columns: file, frame, client, server, message_seq, tool, field, value; one
group of rows per ClientHello, in the frame where tshark completed it
(reassembling handshake fragments). UDP port 4433 is decoded as DTLS.

- `tshark-<version>`: tshark's own `ja3`, `ja3_full` and `sni`.
- `tshark-<version>-fields+ja4spec`: `ja4` computed from tshark's dissected
  fields by FoxIO's JA4 specification (the function of dtls_expected.py).
- `foxio-wireshark-plugin`: `ja4` of FoxIO's JA4 Wireshark plugin, when its
  directory is given (tests/data/dtls13/README.md says how it is built);
  tshark loads no plugin as root, so it runs as `nobody`.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dtls_expected import FIELDS, endpoint, ja4, tshark_version  # noqa: E402

DECODE = ["-d", "udp.port==4433,dtls"]


def tshark_rows(path):
    cmd = ["tshark", "-r", path, *DECODE, "-Y", "dtls.handshake.ja3", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [dict(zip(FIELDS, line.split("\t"))) for line in out.splitlines()]


def plugin_ja4(path, plugin_dir):
    """frame number -> FoxIO plugin's ja4, for the frames with a ClientHello."""
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        copy = os.path.join(tmp, os.path.basename(path))
        shutil.copy(path, copy)
        os.chmod(copy, 0o644)
        cmd = ["runuser", "-u", "nobody", "--", "env", f"WIRESHARK_PLUGIN_DIR={plugin_dir}",
               "tshark", "-r", copy, *DECODE, "-Y", "ja4.ja4 && dtls.handshake.ja3",
               "-T", "fields", "-e", "frame.number", "-e", "ja4.ja4"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return dict(line.split("\t") for line in out.splitlines())


def main():
    outdir = sys.argv[1]
    plugin_dir = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
    tool = f"tshark-{tshark_version()}"
    print("\t".join(["file", "frame", "client", "server", "message_seq", "tool", "field", "value"]))
    for path in sorted(glob.glob(os.path.join(outdir, "*.pcap"))):
        plugin = plugin_ja4(path, plugin_dir) if plugin_dir else {}
        for r in tshark_rows(path):
            src = r["ip.src"] or r["ipv6.src"]
            dst = r["ip.dst"] or r["ipv6.dst"]
            # The message_seq of the ClientHello completed here: the last
            # fragment in the frame.
            seq = r["dtls.handshake.message_seq"].split("|")[-1]
            key = [os.path.basename(path), r["frame.number"], endpoint(src, r["udp.srcport"]),
                   endpoint(dst, r["udp.dstport"]), seq]
            for field, value in [("ja3", r["dtls.handshake.ja3"]),
                                 ("ja3_full", r["dtls.handshake.ja3_full"]),
                                 ("sni", r["dtls.handshake.extensions_server_name"])]:
                print("\t".join(key + [tool, field, value]))
            print("\t".join(key + [f"{tool}-fields+ja4spec", "ja4", ja4(r)]))
            if plugin_dir:
                print("\t".join(key + ["foxio-wireshark-plugin", "ja4", plugin[r["frame.number"]]]))


if __name__ == "__main__":
    main()
