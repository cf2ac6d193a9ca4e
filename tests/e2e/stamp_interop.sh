#!/bin/sh
# stamp_interop.sh - STAMP between owmesh and an independent implementation
# written from the RFC text in Python (tests/stamp_peer.py), on loopback:
#   the peer sending to stampd: unauthenticated and authenticated, stateless
#   and stateful, IPv4 and IPv6; each answer's fields checked (its sequence
#   numbers, the SSID, the sender's fields echoed, the TTL the reflector saw,
#   timestamps in order, the base HMAC and the HMAC TLV verified by the
#   peer), and the TLV flags: U cleared on what stampd knows and set on what
#   it does not, M on a bad length and on a TLV running past the packet, I on
#   every TLV when the HMAC TLV is wrong;
#   stping sending to the peer: unauthenticated and authenticated, IPv4 and
#   IPv6, stateless and stateful; the peer checks what stping sent (U set on
#   every TLV, the base HMAC and the HMAC TLV verified) and stping measures
#   every packet.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/stamp_lib.sh"
e2e_need "$STAMPD" "$STPING" python3
e2e_init
e2e_unprivileged
stamp_keyfile

# ------------------------------------------------------------------ the peer -> stampd
stampd_up open 127.0.0.1
open=127.0.0.1:$st_port
peer_send o1 --to "$open" --count 10 --ssid 77 --timeout 0.5
peer_json "$work/o1.json" 'summary["answered"] == 10 and all(r["seq"] == r["sender_seq"] and r["ssid"] == 77 and r["sender_ttl"] == 255 and r["ttl"] == 255 and r["length"] == 44 for r in rows)'
verdict "peer -> stampd, open, stateless: sequence numbers copied, SSID echoed, TTL 255 seen"
peer_json "$work/o1.json" 'all(r["t1"] <= r["t2"] <= r["t3"] <= r["t4"] and 0 < r["rtt"] < 0.5 for r in rows)'
verdict "peer -> stampd: T1 <= T2 <= T3 <= T4, round trip plausible"
peer_json "$work/o1.json" 'all(r["sender_err"] == 1 for r in rows)'
verdict "peer -> stampd: the sender's error estimate echoed"

peer_send tl --to "$open" --count 2 --tlvs timestamp,cos=34,location,direct,follow-up,access=2,unknown=200,pad=16 --timeout 0.5
peer_json "$work/tl.json" '[t["flags"] for t in rows[0]["tlvs"]] == [0, 0, 0, 0, 0, 0, 0x80, 0]'
verdict "peer -> stampd TLVs: U cleared on the eight known types, set on type 200"
peer_json "$work/tl.json" 'rows[1]["tlvs"][1]["dscp1"] == 34 and rows[1]["tlvs"][1]["rp"] == 0 and rows[1]["tlvs"][2]["src"] == "127.0.0.1" and rows[1]["tlvs"][2]["dst_port"] == int("'"${open#*:}"'") and rows[1]["tlvs"][3]["r_rxc"] == 2 and rows[1]["tlvs"][0]["ts_in"] == 2'
verdict "peer -> stampd TLVs: Class of Service, Location, Direct Measurement and Timestamp Information answered"
peer_send bad --to "$open" --count 1 --tlvs badlen,timestamp,overrun --timeout 0.5
peer_json "$work/bad.json" '[t["flags"] for t in rows[0]["tlvs"]] == [0x40, 0, 0x40] and rows[0]["length"] == rows[0]["sent_length"]'
verdict "peer -> stampd malformed TLVs: M on a bad length and on an overrun, the answer as long as the request"
peer_send hm --to "$open" --count 1 --tlvs timestamp,badhmac --tlv-key "$STAMP_KEY_HEX" --timeout 0.5
peer_json "$work/hm.json" 'all(t["flags"] & 0x20 for t in rows[0]["tlvs"])'
verdict "peer -> stampd, an HMAC TLV stampd cannot verify: I on every TLV"

stampd_up sf ::1 -m stateful
peer_send s1 --to "[::1]:$st_port" --count 6 --first-seq 1000 --ssid 1 --timeout 0.5
peer_send s2 --to "[::1]:$st_port" --count 3 --first-seq 50 --ssid 2 --timeout 0.5
peer_json "$work/s1.json" '[r["seq"] for r in rows] == list(range(6)) and rows[5]["sender_seq"] == 1005'
verdict "peer -> stampd, IPv6 stateful: its own sequence numbers from 0"
peer_json "$work/s2.json" '[r["seq"] for r in rows] == [0, 1, 2]'
verdict "peer -> stampd, stateful: another sender's session numbered apart"

stampd_up auth 127.0.0.1 -A A -k "$work/stamp.keys" -u alice
auth=127.0.0.1:$st_port
peer_send a1 --to "$auth" --key "$STAMP_KEY_HEX" --count 5 --tlvs timestamp,direct,hmac,pad=8 --timeout 0.5
peer_json "$work/a1.json" 'summary["answered"] == 5 and all("error" not in r and r["length"] == r["sent_length"] for r in rows)'
verdict "peer -> stampd, authenticated: every answer's base HMAC verified by the peer"
peer_json "$work/a1.json" 'all([t for t in r["tlvs"] if t["type"] == 8][0]["hmac_ok"] and r["tlvs"][-1]["type"] == 1 for r in rows)'
verdict "peer -> stampd, authenticated: the answers' HMAC TLV verified, Extra Padding after it"
peer_send a2 --to "$auth" --key ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100 --count 3 --timeout 0.3
peer_json "$work/a2.json" 'summary["answered"] == 0'
verdict "peer -> stampd, authenticated with another key: not answered"

# ------------------------------------------------------------------ stping -> the peer
port=$(e2e_free_port 127.0.0.1)
peer_reflector r1 127.0.0.1 "$port" --count 10 --idle 3
e2e_run so 0 "$STPING" -c 10 -i 0.01 -L 0.5 -T timestamp,location,cos=10 "127.0.0.1:$port"
has "stping -> peer, open: nothing lost" "$work/so.out" "10 sent, 0 lost (0.000%)"
has "stping -> peer: the peer's answers to its TLVs read" "$work/so.out" "Location: the reflector saw [127.0.0.1]:"
e2e_wait "$pr_pid"
peer_json /dev/null 'len(log) == 10 and all(e["error"] is None and e["ttl"] == 255 and [t["flags"] for t in e["tlvs"]] == [0x80, 0x80, 0x80] for e in log) and [e["seq"] for e in log] == list(range(10))' "$work/r1.log"
verdict "stping -> peer: the peer read 10 packets in order, every TLV sent with U set"

port=$(e2e_free_port ::1)
peer_reflector r2 ::1 "$port" --count 10 --idle 3 --stateful --key "$STAMP_KEY_HEX"
e2e_run sa 0 "$STPING" -c 10 -i 0.01 -L 0.5 -A A -k "$work/stamp.keys" -u alice -T timestamp,direct "[::1]:$port"
has "stping -> peer, IPv6 authenticated stateful: nothing lost" "$work/sa.out" "10 sent, 0 lost (0.000%)"
has "stping -> peer, authenticated: the peer's HMAC TLVs verified by stping" "$work/sa.out" "HMAC TLV verified in 10, failed in 0"
has "stping -> peer: Direct Measurement counted by the peer" "$work/sa.out" "R_RxC 10, R_TxC 10"
e2e_wait "$pr_pid"
peer_json /dev/null 'len(log) == 10 and all(e["error"] is None and [t for t in e["tlvs"] if t["type"] == 8][0]["hmac_ok"] for e in log)' "$work/r2.log"
verdict "stping -> peer, authenticated: the base HMAC and the HMAC TLV verified by the peer"

e2e_finish
