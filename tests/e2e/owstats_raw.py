#!/usr/bin/env python3
"""owstats_raw.py FILE.owp... - the raw records (owstats -R) of each version 3
.owp file, printed as the reference's printf does
("%lu %020llu %u %g %020llu %u %g %u\\n"), parsed here from the layout
(../shared/spec/owp-file-format.md sections 2, 5 and 6) with nothing from
libowamp: the oracle owstats_raw.sh compares the built owstats -R with."""
import struct
import sys

RECORD = 25


def errest(e):
    """S bit and seconds: multiplier << scale in 64 bits, read as 32.32."""
    scale = (e >> 8) & 0x3F
    value = ((e & 0xFF) << scale) & 0xFFFFFFFFFFFFFFFF
    return (e >> 15) & 1, value / 2.0**32


def raw_lines(path):
    data = open(path, 'rb').read()
    if data[:4] != b'OwA\0' or struct.unpack('>I', data[4:8])[0] != 3:
        raise SystemExit('%s: not a version 3 .owp file' % path)
    finished, = struct.unpack('>I', data[8:12])
    num_records, = struct.unpack('>I', data[20:24])
    oset_records, = struct.unpack('>Q', data[32:40])
    # Finished files are trusted for the count, others counted by size (§6.2);
    # either way no record past the end of the file.
    n = num_records if finished == 1 else (len(data) - oset_records) // RECORD
    n = min(n, (len(data) - oset_records) // RECORD)
    out = []
    for i in range(n):
        off = oset_records + i * RECORD
        seq, send_err, recv_err, send, recv, ttl = struct.unpack('>IHHQQB', data[off:off + RECORD])
        ss, se = errest(send_err)
        rs, re = errest(recv_err)
        out.append('%d %020d %d %g %020d %d %g %d\n' % (seq, send, ss, se, recv, rs, re, ttl))
    return ''.join(out)


if __name__ == '__main__':
    sys.stdout.write(''.join(raw_lines(p) for p in sys.argv[1:]))
