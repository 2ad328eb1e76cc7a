#!/usr/bin/env python3
"""Tests for audit/verify.py's offline proofs (--proof), consistency proofs (--consistency) and
witness cosignatures (ledger/FORMAT.md §10), with the existing modes as a smoke test.

Every vector is built here with PyNaCl: a log key, real entry bodies on the `prev` chain, an
RFC 6962 tree, signed checkpoints, three witnesses' cosignatures and C2SP tlog-proof files. The
Merkle proofs are computed with the RFC 6962 §2.1 definitions (MTH, PATH, PROOF/SUBPROOF), on
purpose unlike the verifier's RFC 9162 iterative algorithms.

Run: /usr/bin/python3 -m unittest discover -s audit -p 'test_verify.py'
"""
import base64
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import verify  # noqa: E402  (the verifier next to this file)

from nacl.signing import SigningKey  # noqa: E402

NOW = int(time.time())
LOG_NAME = "pahlawan-pangan.id/ledger"
ZEROS = "0" * 64


# --- test-only RFC 6962 §2.1 ------------------------------------------------------------------

def sha(data):
    return hashlib.sha256(data).digest()


def leaf(data):
    return sha(b"\x00" + data)


def node(left, right):
    return sha(b"\x01" + left + right)


def split_point(n):
    """The largest power of two strictly less than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    if not leaves:
        return sha(b"")
    if len(leaves) == 1:
        return leaf(leaves[0])
    k = split_point(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    """RFC 6962 §2.1.1 PATH(m, D[n])."""
    if len(leaves) <= 1:
        return []
    k = split_point(len(leaves))
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    """RFC 6962 §2.1.2 SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split_point(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def consistency(m, leaves):
    """RFC 6962 §2.1.2 PROOF(m, D[n]); empty for m = 0 and m = n."""
    if m == 0 or m == len(leaves):
        return []
    return subproof(m, leaves, True)


def b64(data):
    return base64.b64encode(data).decode()


# --- keys, entries, notes ---------------------------------------------------------------------

class Key:
    """An Ed25519 signed-note key of signature type 0x01 (the log) or 0x04 (a witness)."""

    def __init__(self, name, seed_byte, key_type):
        self.name, self.type = name, key_type
        self.signing = SigningKey(bytes([seed_byte]) * 32)
        self.public = bytes(self.signing.verify_key)
        self.key_id = sha(name.encode() + b"\n" + bytes([key_type]) + self.public)[:4]
        self.vkey = "%s+%s+%s" % (name, self.key_id.hex(), b64(bytes([key_type]) + self.public))

    def sign(self, message):
        return self.signing.sign(message).signature


LOG = Key(LOG_NAME, 0x07, 0x01)
WITNESSES = [Key("witness.pajak.go.id/w1", 0x21, 0x04),
             Key("audit.example.co.id/w2", 0x22, 0x04),
             Key("registry.example.org/w3", 0x23, 0x04)]
STRANGER = Key("witness.stranger.example/w9", 0x29, 0x04)


def canonical_json(value):
    """Enough of RFC 8785 for these ASCII-keyed, integer-and-string bodies."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def make_entries(count, key=LOG, tamper=None):
    """`count` chained entries: [(body bytes, 64-byte signature)]."""
    entries, prev = [], ZEROS
    for seq in range(count):
        body = {"v": 1, "seq": seq, "time": 1795453200000000 + seq * 60000000, "kind": "rescue.completed",
                "actor": "operator", "payload": {"grams": 12000 + seq, "offer": "off-%d" % seq, "verified": True},
                "policy": ZEROS, "prev": prev, "key": key.key_id.hex()}
        if tamper:
            tamper(body)
        raw = canonical_json(body)
        entries.append((raw, key.sign(b"pahlawan-entry/v1\x00" + leaf(raw))))
        prev = leaf(raw).hex()
    return entries


ENTRIES = make_entries(21)
BODIES = [raw for raw, _ in ENTRIES]


def checkpoint_text(size, root=None, origin=LOG_NAME):
    return "%s\n%d\n%s\n" % (origin, size, b64(mth(BODIES[:size]) if root is None else root))


def signature_line(key, text):
    return "\u2014 %s %s\n" % (key.name, b64(key.key_id + key.sign(text.encode())))


def cosignature_line(witness, text, timestamp=None):
    timestamp = NOW - 5 if timestamp is None else timestamp
    message = b"cosignature/v1\ntime %d\n" % timestamp + text.encode()
    return "\u2014 %s %s\n" % (witness.name, b64(witness.key_id + timestamp.to_bytes(8, "big") + witness.sign(message)))


def note(text, signers=(LOG,), witnesses=WITNESSES):
    return text + "\n" + "".join(signature_line(k, text) for k in signers) + "".join(
        cosignature_line(w, text) for w in witnesses)


def tlog_proof(index, size=None, entries=ENTRIES, proof=None, the_note=None, extra=None, index_text=None):
    size = len(entries) if size is None else size
    bodies = [raw for raw, _ in entries]
    proof = path(index, bodies[:size]) if proof is None else proof
    raw, signature = entries[index]
    extra = signature + raw if extra is None else extra
    the_note = note(checkpoint_text(size)) if the_note is None else the_note
    return ("c2sp.org/tlog-proof@v1\nextra %s\nindex %s\n" % (b64(extra), index if index_text is None else index_text)
            + "".join(b64(h) + "\n" for h in proof) + "\n" + the_note)


def flip(data, at=0):
    data = bytearray(data)
    data[at] ^= 0x01
    return bytes(data)


# --- running the CLI --------------------------------------------------------------------------

class Case(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, name, content):
        path = os.path.join(self.dir.name, name)
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        return path

    def run_verify(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = verify.main(["verify.py"] + [str(a) for a in args])
        return status, out.getvalue().splitlines()

    def witness_args(self, witnesses=WITNESSES):
        args = []
        for w in witnesses:
            args += ["--witness", w.vkey]
        return args

    def proof(self, content, *extra_args, witnesses=WITNESSES):
        path = self.write("entry.tlog-proof", content)
        return self.run_verify("--proof", path, "--key", LOG.vkey, *self.witness_args(witnesses), *extra_args)

    def assert_ok(self, result, expected=None):
        status, lines = result
        self.assertEqual(status, 0, lines)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("OK "), lines)
        if expected:
            self.assertIn(expected, lines[0])

    def assert_fails(self, result, *words):
        """Exit 1, only FAIL lines, and some FAIL line holding each of `words`."""
        status, lines = result
        self.assertEqual(status, 1, lines)
        self.assertTrue(lines, "no output")
        for line in lines:
            self.assertTrue(line.startswith("FAIL "), lines)
        for word in words:
            self.assertTrue(any(word in line for line in lines), "no FAIL line names %r: %s" % (word, lines))

    def assert_usage_error(self, *args):
        with contextlib.redirect_stdout(io.StringIO()), self.assertRaises(SystemExit) as raised:
            verify.main(["verify.py"] + list(args))
        self.assertNotIn(raised.exception.code, (0, None))


# --- the vectors themselves -------------------------------------------------------------------

class VectorTests(unittest.TestCase):
    def test_log_key_is_the_golden_key(self):
        # FORMAT.md §1 and §3: seed 32 × 0x07, name pahlawan-pangan.id/ledger.
        self.assertEqual(LOG.vkey, "pahlawan-pangan.id/ledger+17959a96+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs")

    def test_golden_entry_signature(self):
        with open(os.path.join(HERE, "..", "ledger", "vectors", "entries.json")) as f:
            golden = json.load(f)
        first = golden["entries"][0]
        raw = first["body"].encode()
        self.assertEqual(leaf(raw).hex(), first["leaf_hash"])
        self.assertEqual(b64(LOG.sign(b"pahlawan-entry/v1\x00" + leaf(raw))), first["signature"])
        verify.decode_body(raw)

    def test_bodies_pass_the_verifiers_body_checks(self):
        for seq, raw in enumerate(BODIES):
            body = verify.decode_body(raw)
            self.assertEqual(body["seq"], seq)
            self.assertEqual(body["prev"], ZEROS if seq == 0 else leaf(BODIES[seq - 1]).hex())

    def test_witness_key_parser(self):
        for w in WITNESSES:
            name, key_id, _, public = verify.parse_witness_key(w.vkey)
            self.assertEqual((name, key_id, public), (w.name, w.key_id, w.public))
        with self.assertRaises(ValueError):
            verify.parse_witness_key(LOG.vkey)  # type 0x01
        with self.assertRaises(ValueError):
            verify.parse_verifier_key(WITNESSES[0].vkey)  # type 0x04
        name, key_id_hex, rest = WITNESSES[0].vkey.split("+", 2)
        with self.assertRaises(ValueError):
            verify.parse_witness_key("%s+%s+%s" % (name, "00000000", rest))  # key id mismatch
        with self.assertRaises(ValueError):
            verify.parse_witness_key("%s+%s+%s" % ("other.example/w", key_id_hex, rest))

    def test_test_merkle_code_agrees_with_the_golden_root(self):
        with open(os.path.join(HERE, "..", "ledger", "vectors", "entries.json")) as f:
            golden = json.load(f)
        self.assertEqual(mth([e["body"].encode() for e in golden["entries"]]).hex(), golden["root"])

    def test_inclusion_proof_lengths(self):
        for size in range(1, 70):
            for index in range(size):
                self.assertEqual(verify.inclusion_proof_length(index, size), len(path(index, [b"%d" % i for i in range(size)])))


# --- --proof ----------------------------------------------------------------------------------

class ProofTests(Case):
    def test_real_proof_passes(self):
        self.assert_ok(self.proof(tlog_proof(13)),
                       "OK %s: seq 13 is in the tree of size 21 signed by %s and cosigned by 3 of 3 witnesses (quorum 3)"
                       % (os.path.join(self.dir.name, "entry.tlog-proof"), LOG_NAME + "+" + LOG.key_id.hex()))

    def test_every_index_of_several_sizes_passes(self):
        for size in (1, 2, 3, 4, 5, 7, 8, 9, 16, 21):
            entries = ENTRIES[:size]
            for index in range(size):
                with self.subTest(size=size, index=index):
                    self.assert_ok(self.proof(tlog_proof(index, entries=entries)))

    def test_runs_as_a_program(self):
        path = self.write("p.tlog-proof", tlog_proof(4))
        done = subprocess.run([sys.executable, os.path.join(HERE, "verify.py"), "--proof", path, "--key", LOG.vkey]
                              + self.witness_args() + ["--quorum", "2"], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("seq 4 is in the tree of size 21", done.stdout)
        self.assertIn("cosigned by 3 of 3 witnesses (quorum 2)", done.stdout)
        bad = self.write("bad.tlog-proof", tlog_proof(4).replace("index 4", "index 5"))
        done = subprocess.run([sys.executable, os.path.join(HERE, "verify.py"), "--proof", bad, "--key", LOG.vkey],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 1)
        self.assertTrue(done.stdout.startswith("FAIL "), done.stdout)

    def test_keys_from_files(self):
        key = self.write("verifier.key", LOG.vkey + "\n")
        witness = self.write("w1.vkey", WITNESSES[0].vkey + "\n")
        path = self.write("p.tlog-proof", tlog_proof(3))
        self.assert_ok(self.run_verify("--proof", path, "--key", key, "--witness", witness), "cosigned by 1 of 1")

    def test_without_witnesses_our_signature_suffices(self):
        self.assert_ok(self.proof(tlog_proof(2, the_note=note(checkpoint_text(21), witnesses=())), witnesses=()),
                       "cosigned by 0 of 0 witnesses (quorum 0)")

    # mutations of the proof

    def test_index_changed(self):
        self.assert_fails(self.proof(tlog_proof(13).replace("index 13", "index 12")), "index")
        self.assert_fails(self.proof(tlog_proof(13).replace("index 13", "index 14")), "index")

    def test_index_beyond_the_tree(self):
        text = tlog_proof(20).replace("index 20", "index 21")
        self.assert_fails(self.proof(text), "inclusion proof", "index")

    def test_proof_hash_flipped(self):
        for position in range(len(path(13, BODIES))):
            proof = path(13, BODIES)
            proof[position] = flip(proof[position], 31)
            self.assert_fails(self.proof(tlog_proof(13, proof=proof)), "inclusion proof")

    def test_proof_hash_dropped_or_added(self):
        proof = path(13, BODIES)
        self.assert_fails(self.proof(tlog_proof(13, proof=proof[:-1])), "inclusion proof")
        self.assert_fails(self.proof(tlog_proof(13, proof=proof[1:])), "inclusion proof")
        self.assert_fails(self.proof(tlog_proof(13, proof=proof + [sha(b"x")])), "inclusion proof")
        self.assert_fails(self.proof(tlog_proof(13, proof=[sha(b"x")] + proof)), "inclusion proof")
        self.assert_fails(self.proof(tlog_proof(0, size=1, entries=ENTRIES[:1], proof=[sha(b"x")])), "inclusion proof")

    def test_proof_hashes_swapped(self):
        proof = path(13, BODIES)
        proof[0], proof[1] = proof[1], proof[0]
        self.assert_fails(self.proof(tlog_proof(13, proof=proof)), "inclusion proof")

    def test_body_byte_changed(self):
        raw, signature = ENTRIES[13]
        # Still canonical JSON, still a valid body: only the signature and the proof catch it.
        changed = raw.replace(b'"grams":12013', b'"grams":12014')
        self.assertNotEqual(changed, raw)
        verify.decode_body(changed)
        self.assert_fails(self.proof(tlog_proof(13, extra=signature + changed)), "entry signature", "inclusion proof")
        # No longer canonical: the body check names it too.
        spaced = raw.replace(b'"grams":12013', b'"grams": 12013')
        self.assert_fails(self.proof(tlog_proof(13, extra=signature + spaced)), "body", "entry signature")
        for at in (0, len(raw) // 2, len(raw) - 1):
            self.assert_fails(self.proof(tlog_proof(13, extra=signature + flip(raw, at))))

    def test_entry_signature_flipped(self):
        raw, signature = ENTRIES[13]
        for at in (0, 40, 63):
            self.assert_fails(self.proof(tlog_proof(13, extra=flip(signature, at) + raw)), "entry signature")

    def test_entry_signed_by_another_key(self):
        other = Key(LOG_NAME, 0x08, 0x01)
        raw, _ = ENTRIES[13]
        signature = other.sign(b"pahlawan-entry/v1\x00" + leaf(raw))
        self.assert_fails(self.proof(tlog_proof(13, extra=signature + raw)), "entry signature")

    def test_body_key_is_not_the_log_key(self):
        entries = make_entries(5, tamper=lambda body: body.update(key="deadbeef"))
        bodies = [raw for raw, _ in entries]
        text = "%s\n5\n%s\n" % (LOG_NAME, b64(mth(bodies)))
        self.assert_fails(self.proof(tlog_proof(2, entries=entries, the_note=note(text))), "body", "deadbeef")

    def test_seq_zero_needs_a_zero_prev(self):
        entries = make_entries(3, tamper=lambda body: body.update(prev="11" * 32) if body["seq"] == 0 else None)
        bodies = [raw for raw, _ in entries]
        text = "%s\n3\n%s\n" % (LOG_NAME, b64(mth(bodies)))
        self.assert_fails(self.proof(tlog_proof(0, entries=entries, the_note=note(text))), "body: seq 0")

    def test_body_that_is_not_an_entry(self):
        raw = canonical_json({"seq": 3, "hello": "world"})
        entries = list(ENTRIES)
        entries[3] = (raw, LOG.sign(b"pahlawan-entry/v1\x00" + leaf(raw)))
        bodies = [r for r, _ in entries]
        text = "%s\n21\n%s\n" % (LOG_NAME, b64(mth(bodies)))
        self.assert_fails(self.proof(tlog_proof(3, entries=entries, the_note=note(text))), "body")

    def test_checkpoint_root_changed(self):
        good = checkpoint_text(21)
        root = mth(BODIES)
        bad = good.replace(b64(root), b64(flip(root, 0)))
        # The altered text under the original signatures.
        the_note = note(good).replace(good, bad, 1)
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note)), "checkpoint signature", "cosignature",
                          "inclusion proof")

    def test_checkpoint_size_changed(self):
        good = checkpoint_text(21)
        for size in ("20", "22"):
            the_note = note(good).replace("\n21\n", "\n%s\n" % size, 1)
            self.assert_fails(self.proof(tlog_proof(13, the_note=the_note)), "checkpoint signature", "quorum")

    def test_checkpoint_of_another_tree_signed_by_us(self):
        # A validly signed and cosigned checkpoint of a different tree (a split view).
        text = "%s\n21\n%s\n" % (LOG_NAME, b64(sha(b"another tree")))
        self.assert_fails(self.proof(tlog_proof(13, the_note=note(text))), "inclusion proof")

    def test_our_signature_dropped(self):
        self.assert_fails(self.proof(tlog_proof(13, the_note=note(checkpoint_text(21), signers=()))),
                          "checkpoint signature")

    def test_our_signature_flipped(self):
        text = checkpoint_text(21)
        line = signature_line(LOG, text)
        raw = base64.b64decode(line.split(" ")[2])
        bad_line = "\u2014 %s %s\n" % (LOG_NAME, b64(flip(raw, 20)))
        the_note = text + "\n" + bad_line + "".join(cosignature_line(w, text) for w in WITNESSES)
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note)), "checkpoint signature")

    def test_checkpoint_signed_by_another_log(self):
        other = Key("other.example/log", 0x09, 0x01)
        text = checkpoint_text(21, origin=other.name)
        self.assert_fails(self.proof(tlog_proof(13, the_note=note(text, signers=(other,)))), "checkpoint signature")

    def test_origin_is_not_the_key_name(self):
        text = checkpoint_text(21, origin="example.com/elsewhere")
        self.assert_fails(self.proof(tlog_proof(13, the_note=note(text))), "origin")

    # cosignatures and the quorum

    def test_cosignature_flipped(self):
        text = checkpoint_text(21)
        for victim in range(3):
            lines = [cosignature_line(w, text) for w in WITNESSES]
            raw = base64.b64decode(lines[victim].split(" ")[2])
            lines[victim] = "\u2014 %s %s\n" % (WITNESSES[victim].name, b64(flip(raw, 50)))
            the_note = text + "\n" + signature_line(LOG, text) + "".join(lines)
            self.assert_fails(self.proof(tlog_proof(13, the_note=the_note)),
                              "cosignature by %s" % WITNESSES[victim].name, "quorum")
            # A bad cosignature by a trusted witness fails even when the others make the quorum.
            self.assert_fails(self.proof(tlog_proof(13, the_note=the_note), "--quorum", "2"),
                              "cosignature by %s" % WITNESSES[victim].name)

    def test_cosignature_timestamp_flipped(self):
        text = checkpoint_text(21)
        raw = base64.b64decode(cosignature_line(WITNESSES[0], text).split(" ")[2])
        bad = "\u2014 %s %s\n" % (WITNESSES[0].name, b64(flip(raw, 11)))
        the_note = note(text, witnesses=WITNESSES[1:]) + bad
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note)), "cosignature by %s" % WITNESSES[0].name)

    def test_quorum_not_met(self):
        the_note = note(checkpoint_text(21), witnesses=WITNESSES[:2])
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note)), "quorum")
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note), "--quorum", "3"), "quorum: 2 of 3")
        self.assert_ok(self.proof(tlog_proof(13, the_note=the_note), "--quorum", "2"), "cosigned by 2 of 3 witnesses (quorum 2)")
        self.assert_ok(self.proof(tlog_proof(13, the_note=note(checkpoint_text(21), witnesses=())), "--quorum", "0"),
                       "cosigned by 0 of 3 witnesses (quorum 0)")

    def test_duplicated_cosignature_does_not_fake_a_quorum(self):
        text = checkpoint_text(21)
        the_note = note(text, witnesses=WITNESSES[:2]) + cosignature_line(WITNESSES[0], text, NOW - 1)
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note), "--quorum", "3"), "quorum: 2 of 3")
        exact_copy = note(text, witnesses=WITNESSES[:2]) + cosignature_line(WITNESSES[1], text)
        self.assert_fails(self.proof(tlog_proof(13, the_note=exact_copy)), "quorum: 2 of 3")
        self.assert_ok(self.proof(tlog_proof(13, the_note=exact_copy), "--quorum", "2"), "cosigned by 2 of 3")

    def test_one_public_key_under_another_name_does_not_count(self):
        # Ed25519 cosignatures do not sign the witness's name: the same signature under a name we
        # do not trust is just an unknown key.
        text = checkpoint_text(21)
        raw = base64.b64decode(cosignature_line(WITNESSES[0], text).split(" ")[2])
        alias = Key("alias.example/w1", 0x21, 0x04)
        forged = "\u2014 %s %s\n" % (alias.name, b64(alias.key_id + raw[4:]))
        the_note = note(text, witnesses=WITNESSES[:2]) + forged
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note)), "quorum: 2 of 3")

    def test_unknown_cosignatures_are_ignored(self):
        text = checkpoint_text(21)
        unknown = cosignature_line(STRANGER, text)
        # A trusted name with another key id, and a trusted key id under another name.
        same_name = Key(WITNESSES[0].name, 0x30, 0x04)
        raw = base64.b64decode(cosignature_line(WITNESSES[1], text).split(" ")[2])
        garbage_same_name = "\u2014 %s %s\n" % (same_name.name, b64(same_name.key_id + bytes(72)))
        garbage_same_id = "\u2014 %s %s\n" % ("nobody.example/w", b64(WITNESSES[1].key_id + bytes(72)))
        del raw
        for extra in (unknown, garbage_same_name, garbage_same_id, "\u2014 %s %s\n" % (STRANGER.name, b64(b"junk!"))):
            self.assert_ok(self.proof(tlog_proof(13, the_note=note(text) + extra)), "cosigned by 3 of 3 witnesses")
        # An unknown cosignature does not count towards the quorum either.
        the_note = note(text, witnesses=WITNESSES[:2]) + unknown
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note)), "quorum: 2 of 3")
        # Nor does a signature by the log's key count as a witness's.
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note + signature_line(LOG, text))), "quorum: 2 of 3")

    def test_witness_key_as_our_key_is_not_a_cosignature(self):
        # A witness line whose name and key id are right but which holds a plain note signature.
        text = checkpoint_text(21)
        w = WITNESSES[2]
        plain = "\u2014 %s %s\n" % (w.name, b64(w.key_id + w.sign(text.encode())))
        self.assert_fails(self.proof(tlog_proof(13, the_note=note(text, witnesses=WITNESSES[:2]) + plain)),
                          "cosignature by %s" % w.name)

    def test_future_timestamp_refused(self):
        text = checkpoint_text(21)
        late = cosignature_line(WITNESSES[2], text, NOW + 3600)
        the_note = note(text, witnesses=WITNESSES[:2]) + late
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note)), "in the future", "quorum")
        self.assert_fails(self.proof(tlog_proof(13, the_note=the_note), "--quorum", "2"), "in the future")
        huge = note(text, witnesses=WITNESSES[:2]) + cosignature_line(WITNESSES[2], text, 2**63)
        self.assert_fails(self.proof(tlog_proof(13, the_note=huge)), "2^63-1")
        # Within the 10 minutes' leeway for clocks.
        soon = note(text, witnesses=WITNESSES[:2]) + cosignature_line(WITNESSES[2], text, NOW + 300)
        self.assert_ok(self.proof(tlog_proof(13, the_note=soon)), "cosigned by 3 of 3")
        old = note(text, witnesses=WITNESSES[:2]) + cosignature_line(WITNESSES[2], text, 0)
        self.assert_ok(self.proof(tlog_proof(13, the_note=old)), "cosigned by 3 of 3")

    def test_cosignature_over_another_checkpoint(self):
        text = checkpoint_text(21)
        stale = cosignature_line(WITNESSES[2], checkpoint_text(20))
        self.assert_fails(self.proof(tlog_proof(13, the_note=note(text, witnesses=WITNESSES[:2]) + stale)),
                          "cosignature by %s" % WITNESSES[2].name)

    def test_policy_usage_errors(self):
        path = self.write("p.tlog-proof", tlog_proof(1))
        base = ["--proof", path, "--key", LOG.vkey]
        w = self.witness_args()
        self.assert_usage_error(*base, *w, "--quorum", "4")
        self.assert_usage_error(*base, "--quorum", "1")
        self.assert_usage_error(*base, *w, "--quorum", "-1")
        self.assert_usage_error(*base, *w, "--quorum", "two")
        self.assert_usage_error(*base, "--witness", LOG.vkey)  # type 0x01 is not a witness key
        self.assert_usage_error("--proof", path, "--key", WITNESSES[0].vkey)  # nor 0x04 a log key
        self.assert_usage_error(*base, "--witness", WITNESSES[0].vkey, "--witness", WITNESSES[0].vkey)
        self.assert_usage_error(*base, "--witness", WITNESSES[0].vkey, "--witness", Key("alias.example/w1", 0x21, 0x04).vkey)
        self.assert_usage_error("--proof", path)
        self.assert_usage_error(*base, "--key", LOG.vkey)
        self.assert_usage_error(*base, "extra-argument")
        self.assert_usage_error(*base, "--witness")

    # strict parsing

    def test_wrong_first_line(self):
        good = tlog_proof(3)
        for first in ("c2sp.org/tlog-proof@v2", "c2sp.org/tlog-proof@v1 ", "C2SP.org/tlog-proof@v1", ""):
            self.assert_fails(self.proof(good.replace("c2sp.org/tlog-proof@v1", first, 1)), "format")
        self.assert_fails(self.proof("\n" + good), "format")

    def test_missing_extra(self):
        good = tlog_proof(3)
        lines = good.split("\n")
        self.assert_fails(self.proof("\n".join([lines[0]] + lines[2:])), "format", "extra")
        self.assert_fails(self.proof(good.replace("\nextra ", "\nextra: ", 1)), "format")
        raw, signature = ENTRIES[3]
        self.assert_fails(self.proof(tlog_proof(3, extra=signature)), "format", "extra")
        self.assert_fails(self.proof(tlog_proof(3, extra=b"")), "format")

    def test_bad_base64(self):
        good = tlog_proof(13)
        lines = good.split("\n")
        extra = lines[1][len("extra "):]
        self.assertEqual(len(extra) % 4, 0)
        for bad in (extra[:-1], extra[:-2], extra + "=", extra + "==", extra + "AAA", extra[:-3] + "@" + extra[-2:], extra + " ", extra[:10] + "\t" + extra[10:]):
            self.assert_fails(self.proof("\n".join(lines[:1] + ["extra " + bad] + lines[2:])), "format")
        proof_line = lines[3]
        self.assertEqual(len(proof_line), 44)
        # Non-canonical: the last character before '=' carries two bits that must be zero.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        last = alphabet.index(proof_line[42])
        sloppy = proof_line[:42] + alphabet[last ^ 1] + "="
        self.assertEqual(base64.b64decode(sloppy), base64.b64decode(proof_line))
        for bad in (sloppy, proof_line[:-1], proof_line + "=", "-" + proof_line[1:], proof_line[:-4] + "====",
                    b64(bytes(31)), b64(bytes(33))):
            self.assert_fails(self.proof("\n".join(lines[:3] + [bad] + lines[4:])), "format", "proof line 1")

    def test_index_line(self):
        good = tlog_proof(13)
        for bad in ("013", "+13", " 13", "13 ", "1_3", "0x0d", "", "-1", "\u0661\u0663", "99999999999999999999"):
            self.assert_fails(self.proof(good.replace("index 13", "index " + bad, 1)), "format")
        self.assert_fails(self.proof(good.replace("index 13", "index  13", 1)), "format")
        self.assert_fails(self.proof(good.replace("index 13", "Index 13", 1)), "format")
        self.assert_fails(self.proof(tlog_proof(0, index_text="00")), "format")
        self.assert_ok(self.proof(tlog_proof(0)))

    def test_more_than_63_proof_lines(self):
        self.assert_fails(self.proof(tlog_proof(13, proof=[sha(b"%d" % i) for i in range(64)])), "format", "63")
        # 63 is parsed (and then refused as the wrong length for this tree).
        self.assert_fails(self.proof(tlog_proof(13, proof=[sha(b"%d" % i) for i in range(63)])), "inclusion proof")

    def test_missing_empty_line(self):
        good = tlog_proof(13)
        the_note = note(checkpoint_text(21))
        self.assertIn("\n\n" + the_note, good)
        self.assert_fails(self.proof(good.replace("\n\n" + the_note, "\n" + the_note)), "format")
        # With no proof lines (a tree of one entry) the empty line is needed just the same.
        single = tlog_proof(0, size=1, entries=ENTRIES[:1])
        self.assert_ok(self.proof(single))
        self.assert_fails(self.proof(single.replace("index 0\n\n", "index 0\n")), "format")
        # Nor may the file stop before it.
        self.assert_fails(self.proof(good[: good.index("\n\n")]), "format")
        self.assert_fails(self.proof(good[: good.index("\n\n") + 1]), "format")

    def test_trailing_garbage(self):
        good = tlog_proof(13)
        for tail in ("\n", "garbage\n", "\u2014 x\n", "\n\u2014 %s AAAA\n" % STRANGER.name, " ", "garbage"):
            self.assert_fails(self.proof(good + tail), "checkpoint")
        self.assert_fails(self.proof(good[:-1]), "checkpoint")  # no final newline
        self.assert_fails(self.proof(good.replace("\n", "\r\n")), "format")
        self.assert_fails(self.proof(good + "\x00"), "checkpoint")

    def test_extra_empty_line_before_the_checkpoint(self):
        good = tlog_proof(13)
        self.assert_fails(self.proof(good.replace("\n\n" + LOG_NAME, "\n\n\n" + LOG_NAME, 1)), "checkpoint")

    def test_checkpoint_with_an_extension_line(self):
        text = checkpoint_text(21) + "extension line\n"
        self.assert_fails(self.proof(tlog_proof(13, the_note=note(text))), "checkpoint")

    def test_not_utf8(self):
        self.assert_fails(self.proof(tlog_proof(13).encode() + b"\xff\n"), "format")

    def test_unreadable_file(self):
        self.assert_fails(self.run_verify("--proof", os.path.join(self.dir.name, "missing"), "--key", LOG.vkey),
                          "cannot read")


# --- --consistency ----------------------------------------------------------------------------

def consistency_answer(m, n, proof=None, from_root=None, to_root=None, shape="api", encode=b64):
    proof = consistency(m, BODIES[:n]) if proof is None else proof
    roots = [mth(BODIES[:m]) if from_root is None else from_root, mth(BODIES[:n]) if to_root is None else to_root]
    names = ("from", "to", "fromRoot", "toRoot") if shape == "api" else ("size1", "size2", "root1", "root2")
    return json.dumps({names[0]: m, names[1]: n, names[2]: encode(roots[0]), names[3]: encode(roots[1]),
                       "proof": [encode(h) for h in proof]})


class ConsistencyAlgorithmTests(unittest.TestCase):
    def test_every_pair_up_to_40(self):
        leaves = [b"leaf %d" % i for i in range(41)]
        roots = [mth(leaves[:n]) for n in range(41)]
        for n in range(41):
            for m in range(n + 1):
                proof = consistency(m, leaves[:n])
                self.assertIsNone(verify.verify_consistency(m, n, proof, roots[m], roots[n]), (m, n))
                if 0 < m < n:
                    self.assertEqual(len(proof), verify.consistency_proof_length(m, n), (m, n))
                    for i in range(len(proof)):
                        bad = list(proof)
                        bad[i] = flip(bad[i], 7)
                        self.assertIsNotNone(verify.verify_consistency(m, n, bad, roots[m], roots[n]), (m, n, i))
                    self.assertIsNotNone(verify.verify_consistency(m, n, proof[:-1], roots[m], roots[n]))
                    self.assertIsNotNone(verify.verify_consistency(m, n, proof + [roots[m]], roots[m], roots[n]))
                    self.assertIsNotNone(verify.verify_consistency(m, n, proof, roots[m - 1], roots[n]))
                    self.assertIsNotNone(verify.verify_consistency(m, n, proof, roots[m], flip(roots[n])))
                    if m + 1 < n:
                        self.assertIsNotNone(verify.verify_consistency(m + 1, n, proof, roots[m + 1], roots[n]))
                    self.assertIsNotNone(verify.verify_consistency(n, m, proof, roots[n], roots[m]))

    def test_edges(self):
        root = sha(b"r")
        self.assertIsNone(verify.verify_consistency(0, 0, [], sha(b""), sha(b"")))
        self.assertIsNone(verify.verify_consistency(0, 5, [], sha(b""), root))
        self.assertIsNotNone(verify.verify_consistency(0, 5, [root], sha(b""), root))
        self.assertIsNone(verify.verify_consistency(5, 5, [], root, root))
        self.assertIsNotNone(verify.verify_consistency(5, 5, [], root, flip(root)))
        self.assertIsNotNone(verify.verify_consistency(5, 5, [root], root, root))
        self.assertIsNotNone(verify.verify_consistency(3, 5, [], root, root))


class ConsistencyTests(Case):
    def consistency(self, m, n, answer=None, old=None, new=None, *extra_args, witnesses=WITNESSES):
        answer = consistency_answer(m, n) if answer is None else answer
        path = self.write("consistency.json", answer)
        old_path = self.write("old.note", note(checkpoint_text(m)) if old is None else old)
        new_path = self.write("new.note", note(checkpoint_text(n)) if new is None else new)
        return self.run_verify("--consistency", path, "--old", old_path, "--new", new_path, "--key", LOG.vkey,
                               *self.witness_args(witnesses), *extra_args)

    def test_real_proofs_pass(self):
        pairs = [(0, 0), (0, 1), (0, 7), (0, 21), (1, 1), (7, 7), (21, 21), (1, 2), (2, 4), (4, 8), (8, 16),
                 (1, 16), (2, 16), (16, 16), (3, 7), (5, 8), (6, 17), (7, 8), (8, 21), (15, 16), (16, 17), (20, 21), (1, 21)]
        for m, n in pairs:
            with self.subTest(m=m, n=n):
                self.assert_ok(self.consistency(m, n),
                               "the tree of size %d extends the tree of size %d, both signed by %s and cosigned by 3 and 3 of 3 witnesses (quorum 3)"
                               % (n, m, LOG_NAME))

    def test_every_pair_through_the_cli(self):
        for n in range(0, 10):
            for m in range(n + 1):
                with self.subTest(m=m, n=n):
                    self.assert_ok(self.consistency(m, n, None, None, None, witnesses=()))

    def test_hex_api_answer_and_cli_shape(self):
        self.assert_ok(self.consistency(5, 13, consistency_answer(5, 13, encode=lambda h: h.hex())))
        self.assert_ok(self.consistency(5, 13, consistency_answer(5, 13, shape="cli")))
        self.assert_fails(self.consistency(5, 13, consistency_answer(5, 13, encode=lambda h: h.hex().upper())), "proof")

    def test_flipped_hash(self):
        proof = consistency(5, BODIES[:13])
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = flip(bad[i], 3)
            self.assert_fails(self.consistency(5, 13, consistency_answer(5, 13, proof=bad)), "consistency proof")

    def test_dropped_or_added_hash(self):
        proof = consistency(6, BODIES[:17])
        self.assert_fails(self.consistency(6, 17, consistency_answer(6, 17, proof=proof[:-1])), "consistency proof")
        self.assert_fails(self.consistency(6, 17, consistency_answer(6, 17, proof=proof + [sha(b"x")])), "consistency proof")
        self.assert_fails(self.consistency(0, 17, consistency_answer(0, 17, proof=[sha(b"x")])), "consistency proof")
        self.assert_fails(self.consistency(9, 9, consistency_answer(9, 9, proof=[mth(BODIES[:9])])), "consistency proof")

    def test_wrong_from_or_to(self):
        proof = consistency(5, BODIES[:13])
        self.assert_fails(self.consistency(5, 13, consistency_answer(4, 13, proof=proof), old=note(checkpoint_text(5))),
                          "old checkpoint: its size is 5")
        self.assert_fails(self.consistency(5, 13, consistency_answer(5, 12, proof=proof), new=note(checkpoint_text(13))),
                          "new checkpoint: its size is 13")
        # The proof for other sizes between the right notes.
        self.assert_fails(self.consistency(5, 13, consistency_answer(4, 13)), "old checkpoint", "consistency proof")
        self.assert_fails(self.consistency(5, 13, consistency_answer(5, 12)), "new checkpoint", "consistency proof")

    def test_swapped_notes(self):
        self.assert_fails(self.consistency(5, 13, None, note(checkpoint_text(13)), note(checkpoint_text(5))),
                          "old checkpoint", "new checkpoint", "consistency proof")

    def test_mismatched_root(self):
        # A validly signed and cosigned old checkpoint of another history (a fork).
        fork = "%s\n5\n%s\n" % (LOG_NAME, b64(sha(b"another history")))
        self.assert_fails(self.consistency(5, 13, None, note(fork)), "consistency proof")
        fork_new = "%s\n13\n%s\n" % (LOG_NAME, b64(sha(b"another history")))
        self.assert_fails(self.consistency(5, 13, None, None, note(fork_new)), "consistency proof")
        same_size_fork = "%s\n8\n%s\n" % (LOG_NAME, b64(sha(b"another history")))
        self.assert_fails(self.consistency(8, 8, consistency_answer(8, 8, to_root=sha(b"another history")),
                                           None, note(same_size_fork)), "fork")

    def test_answer_roots_are_not_trusted_but_compared(self):
        self.assert_fails(self.consistency(5, 13, consistency_answer(5, 13, from_root=sha(b"x"))), "fromRoot")
        self.assert_fails(self.consistency(5, 13, consistency_answer(5, 13, to_root=sha(b"x"))), "toRoot")

    def test_empty_tree(self):
        self.assert_ok(self.consistency(0, 4))
        bad_empty = "%s\n0\n%s\n" % (LOG_NAME, b64(sha(b"not empty")))
        self.assert_fails(self.consistency(0, 4, consistency_answer(0, 4, from_root=sha(b"not empty")), note(bad_empty)),
                          "SHA-256 of nothing")

    def test_note_signatures_and_quorum(self):
        self.assert_fails(self.consistency(5, 13, None, note(checkpoint_text(5), signers=())), "old checkpoint signature")
        self.assert_fails(self.consistency(5, 13, None, None, note(checkpoint_text(13), witnesses=WITNESSES[:1])),
                          "new checkpoint quorum: 1 of 3")
        self.assert_ok(self.consistency(5, 13, None, None, note(checkpoint_text(13), witnesses=WITNESSES[:1]), "--quorum", "1"),
                       "cosigned by 1 and 3 of 3 witnesses (quorum 1)")
        text = checkpoint_text(5)
        self.assert_fails(self.consistency(5, 13, None, note(text, witnesses=WITNESSES[:2]) + cosignature_line(WITNESSES[2], text, NOW + 7200)),
                          "old checkpoint cosignature by %s" % WITNESSES[2].name)
        other = Key("other.example/log", 0x09, 0x01)
        self.assert_fails(self.consistency(5, 13, None, note(checkpoint_text(5, origin=other.name), signers=(other,))),
                          "old checkpoint signature")

    def test_malformed_inputs(self):
        self.assert_fails(self.consistency(5, 13, "{"), "cannot read")
        self.assert_fails(self.consistency(5, 13, '{"from":5,"from":5}'), "cannot read")
        self.assert_fails(self.consistency(5, 13, json.dumps({"from": 5, "to": 13})), "proof: malformed")
        self.assert_fails(self.consistency(5, 13, json.dumps({"from": 5.0, "to": 13, "fromRoot": "", "toRoot": "", "proof": []})))
        self.assert_fails(self.consistency(5, 13, json.dumps({"from": True, "to": 13, "fromRoot": b64(mth(BODIES[:5])),
                                                              "toRoot": b64(mth(BODIES[:13])), "proof": []})), "malformed")
        self.assert_fails(self.consistency(5, 13, consistency_answer(5, 13).replace('"proof": [', '"proof": ["AAAA", ')), "malformed")
        self.assert_fails(self.consistency(5, 13, None, note(checkpoint_text(5)) + "garbage\n"), "old checkpoint")
        self.assert_usage_error("--consistency", "x.json", "--old", "a", "--key", LOG.vkey)


# --- the existing modes still work --------------------------------------------------------------

# --- key rotation (FORMAT.md §10.7) -----------------------------------------------------------

NEXT = Key(LOG_NAME, 0x31, 0x01)


def rotated_log(reason="scheduled", untrusted=None, rotation_signer=None, new_key=None, at=10, count=16):
    """Entries 0..at-1 by LOG, a key.rotated entry at `at` naming NEXT (signed by LOG unless
    `rotation_signer`), then entries by NEXT up to `count`. Returns [(body, signature)]."""
    entries, prev = [], ZEROS
    for seq in range(count):
        key = LOG if seq <= at else NEXT
        body = {"v": 1, "seq": seq, "time": 1795453200000000 + seq * 60000000, "kind": "rescue.completed",
                "actor": "operator", "payload": {"grams": 12000 + seq}, "policy": ZEROS, "prev": prev,
                "key": key.key_id.hex()}
        if seq == at:
            payload = {"newKey": (new_key or NEXT).vkey, "reason": reason}
            if untrusted is not None:
                payload["untrustedFrom"] = untrusted
            body["kind"], body["payload"] = "key.rotated", payload
            key = rotation_signer or LOG
        raw = canonical_json(body)
        entries.append((raw, key.sign(b"pahlawan-entry/v1\x00" + leaf(raw))))
        prev = leaf(raw).hex()
    return entries


def rotated_note(entries, size, signer=NEXT):
    bodies = [raw for raw, _ in entries]
    return note("%s\n%d\n%s\n" % (LOG_NAME, size, b64(mth(bodies[:size]))), signers=(signer,))


def rotation_items(entries, size, seqs=(10,)):
    bodies = [raw for raw, _ in entries]
    return [{"seq": seq, "signature": b64(entries[seq][1]), "body": b64(entries[seq][0]),
             "proof": [b64(h) for h in path(seq, bodies[:size])]} for seq in seqs]


def keys_document(entries, size=16, items=None, signer=NEXT):
    return json.dumps({"format": "pahlawan-keys/v1", "initial": LOG.vkey, "checkpoint": rotated_note(entries, size, signer),
                       "rotations": rotation_items(entries, size) if items is None else items})


class RotationTests(Case):
    def keys(self, document):
        return self.write("keys.json", document)

    def test_a_proof_signed_by_the_new_key_passes_with_the_keys_document(self):
        entries = rotated_log()
        keys = self.keys(keys_document(entries))
        proof = tlog_proof(13, entries=entries, the_note=rotated_note(entries, 16))
        self.assert_ok(self.proof(proof, "--keys", keys))
        self.assert_ok(self.run_verify("--keys", keys, "--key", LOG.vkey, *self.witness_args()), "signs from seq 11")
        # Without it, the proof fails and says where to get it.
        self.assert_fails(self.proof(proof), "/v1/keys")

    def test_a_forged_rotation_fails(self):
        entries = rotated_log()
        forged = rotated_log(rotation_signer=NEXT)  # the thief signs its own rotation
        self.assert_fails(self.run_verify("--keys", self.keys(keys_document(forged)), "--key", LOG.vkey), "key rotation at seq 10")
        # Left out: the checkpoint then fails under the initial key.
        self.assert_fails(self.run_verify("--keys", self.keys(keys_document(entries, items=[])), "--key", LOG.vkey), "signature")
        # Its body changed: no longer in the tree.
        items = rotation_items(entries, 16)
        items[0]["body"] = b64(flip(entries[10][0], 30))
        self.assert_fails(self.run_verify("--keys", self.keys(keys_document(entries, items=items)), "--key", LOG.vkey), "not in the checkpoint")
        # A key of another origin, or the same key again.
        for bad in (rotated_log(new_key=Key("elsewhere.example/log", 0x32, 0x01)), rotated_log(new_key=LOG)):
            self.assert_fails(self.run_verify("--keys", self.keys(keys_document(bad, signer=LOG)), "--key", LOG.vkey), "key rotation at seq 10")
        # A checkpoint by the old key after the rotation is refused.
        self.assert_fails(self.run_verify("--keys", self.keys(keys_document(entries, signer=LOG)), "--key", LOG.vkey), "signature")

    def test_after_a_compromise_the_old_keys_later_checkpoints_are_refused(self):
        entries = rotated_log(reason="compromise", untrusted=5)
        keys = self.keys(keys_document(entries))
        late = tlog_proof(3, size=8, entries=entries, the_note=rotated_note(entries, 8, signer=LOG))
        self.assert_fails(self.proof(late, "--keys", keys), "compromised")
        early = tlog_proof(3, size=5, entries=entries, the_note=rotated_note(entries, 5, signer=LOG))
        self.assert_ok(self.proof(early, "--keys", keys))
        # Without witnesses nothing the leaked key signed counts: a thief can sign any size and root.
        self.assert_fails(self.proof(early, "--keys", keys, witnesses=[]), "compromised")
        for bad in (rotated_log(reason="compromise"), rotated_log(reason="compromise", untrusted=11),
                    rotated_log(reason="scheduled", untrusted=5), rotated_log(reason="lost")):
            self.assert_fails(self.run_verify("--keys", self.keys(keys_document(bad)), "--key", LOG.vkey), "key rotation at seq 10")

    def test_malformed_rotations_fail_without_a_traceback(self):
        entries = rotated_log()
        items = rotation_items(entries, 16)
        for bad in ([{"seq": 10}], ["x"], [dict(items[0], seq="10")], 7):
            document = json.loads(keys_document(entries))
            document["rotations"] = bad
            self.assert_fails(self.run_verify("--keys", self.keys(json.dumps(document)), "--key", LOG.vkey), "keys document")
        for initial in (None, 5, [LOG.vkey]):
            document = json.loads(keys_document(entries))
            document["initial"] = initial
            self.assert_fails(self.run_verify("--keys", self.keys(json.dumps(document)), "--key", LOG.vkey), "initial key")
        # Deep nesting and a bundle that is not an object: a FAIL line, never a traceback.
        deep = [dict(items[0], body=b64(b"[" * 5000 + b"]" * 5000))]
        document = json.loads(keys_document(entries))
        document["rotations"] = deep
        self.assert_fails(self.run_verify("--keys", self.keys(json.dumps(document)), "--key", LOG.vkey), "keys document")
        self.assert_fails(self.run_verify(self.write("list.json", "[1, 2]"), "--key", LOG.vkey), "not a JSON object")
        spaced = rotated_log(new_key=NEXT)
        raw = canonical_json(dict(json.loads(spaced[10][0]), payload={"newKey": NEXT.vkey + "\n", "reason": "scheduled"}))
        self.assertNotEqual(raw, spaced[10][0])

    def test_a_bundle_follows_its_own_rotations(self):
        entries = rotated_log()
        bodies = [raw for raw, _ in entries]
        bundle = {"format": "pahlawan-bundle/v1", "checkpoint": rotated_note(entries, 16), "verifier_key": LOG.vkey,
                  "previous": {"seq": 7, "leaf_hash": b64(leaf(bodies[7])), "proof": [b64(h) for h in path(7, bodies)]},
                  "entries": [{"seq": seq, "body": b64(raw), "signature": b64(sig), "proof": [b64(h) for h in path(seq, bodies)]}
                              for seq, (raw, sig) in enumerate(entries) if seq >= 8],
                  "key_rotations": rotation_items(entries, 16)}
        self.assert_ok(self.run_verify(self.write("bundle.json", json.dumps(bundle)), "--key", LOG.vkey))
        keys = self.keys(keys_document(entries))
        self.assert_ok(self.run_verify(self.write("bundle.json", json.dumps(bundle)), "--key", LOG.vkey, "--keys", keys))
        # A compromise reported after the bundle was made applies to it through the keys document.
        compromised = rotated_log(reason="compromise", untrusted=5)
        old = {"format": "pahlawan-bundle/v1", "checkpoint": rotated_note(compromised, 8, signer=LOG), "verifier_key": LOG.vkey,
               "entries": [{"seq": 3, "body": b64(compromised[3][0]), "signature": b64(compromised[3][1]),
                            "proof": [b64(h) for h in path(3, [raw for raw, _ in compromised][:8])]}]}
        self.assert_ok(self.run_verify(self.write("old.json", json.dumps(old)), "--key", LOG.vkey))
        self.assert_fails(self.run_verify(self.write("old.json", json.dumps(old)), "--key", LOG.vkey,
                                          "--keys", self.keys(keys_document(compromised))), "compromised")
        bundle["key_rotations"] = []
        self.assert_fails(self.run_verify(self.write("bundle.json", json.dumps(bundle)), "--key", LOG.vkey), "checkpoint")


def chained(items, key=LOG):
    """Signed, chained entries from (time, kind, payload) triples: [(body bytes, signature)]."""
    entries, prev = [], ZEROS
    for seq, (time_us, kind, payload) in enumerate(items):
        body = {"v": 1, "seq": seq, "time": time_us, "kind": kind, "actor": "site-jkt-1", "payload": payload,
                "policy": ZEROS, "prev": prev, "key": key.key_id.hex()}
        raw = canonical_json(body)
        entries.append((raw, key.sign(b"pahlawan-entry/v1\x00" + leaf(raw))))
        prev = leaf(raw).hex()
    return entries


def signed_bundle(entries):
    bodies = [raw for raw, _ in entries]
    return {"format": "pahlawan-bundle/v1", "checkpoint": note("%s\n%d\n%s\n" % (LOG_NAME, len(bodies), b64(mth(bodies)))),
            "verifier_key": LOG.vkey,
            "entries": [{"seq": seq, "body": b64(raw), "signature": b64(sig), "proof": [b64(h) for h in path(seq, bodies)]}
                        for seq, (raw, sig) in enumerate(entries)]}


class AuctionPriceTests(Case):
    """FORMAT.md §7.12's worked example as signed entries: verify.py recomputes the sale's price
    from the curve itself, so a validly signed entry at a price the curve does not give fails."""
    T0 = 1795453200000000
    MINUTE = 60000000

    def entries(self, price=36667, escrow=None, minutes=20, shape=None):
        started = {"auction": "auc-a", "offer": "off-a", "provider": "site-jkt-1", "curve": "linear", "shape": "linear",
                   "startRupiah": 50000, "floorRupiah": 10000, "durationMicroseconds": 60 * self.MINUTE, "portions": 10,
                   "grams": 4200, "offerPriceRupiah": 60000, "endsAt": self.T0 + 60 * self.MINUTE, "endRule": "policy.auctionFloorReached"}
        if shape:
            started.update(shape)
        at = self.T0 + minutes * self.MINUTE
        sold = {"auction": "auc-a", "offer": "off-a", "claim": "clm-a", "buyer": "buyer-a", "portions": 10, "grams": 4200,
                "lotPriceRupiah": price, "priceRupiah": price, "elapsedMicroseconds": minutes * self.MINUTE, "rule": "priceCurve.linear"}
        claim = {"claim": "clm-a", "offer": "off-a", "claimant": "buyer-a", "portions": 10, "grams": 4200, "priceRupiah": price,
                 "pickupCodeDigest": "d"}
        held = {"escrow": "clm-a", "claim": "clm-a", "buyer": "buyer-a", "provider": "site-jkt-1", "rupiah": escrow or price}
        return chained([(self.T0, "auction.started", started), (at, "auction.sold", sold), (at, "claim.placed", claim),
                        (at, "escrow.held", held)])

    def verdict(self, entries):
        return self.run_verify(self.write("auction.json", json.dumps(signed_bundle(entries))), "--key", LOG.vkey)

    def test_the_worked_example_passes(self):
        self.assert_ok(self.verdict(self.entries()), "1 auction sale prices recomputed")
        steps = {"shape": "steps", "stepMicroseconds": 10 * self.MINUTE, "dropPermille": 150}
        self.assert_ok(self.verdict(self.entries(price=38000, minutes=25, shape=steps)), "recomputed")
        halving = {"shape": "exponential", "halfLifeMicroseconds": 20 * self.MINUTE}
        self.assert_ok(self.verdict(self.entries(price=25000, minutes=30, shape=halving)), "recomputed")

    def test_a_signed_price_the_curve_does_not_give_fails(self):
        self.assert_fails(self.verdict(self.entries(price=36666)), "the curve gives 36667")
        self.assert_fails(self.verdict(self.entries(escrow=30000)), "does not hold the sale's price")
        self.assert_fails(self.verdict(self.entries(price=10000, minutes=60)), "at or after its end")


# --- devices and freshness scans (FORMAT.md §7.14) --------------------------------------------

# The worked example of §7.14, byte for byte.
SCAN_EXAMPLE = (b'{"claim":"clm-1","device":"dev-toko-a","imageSha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",'
                b'"model":"freshnet","modelVersion":"2.3.1","scannedAt":1764583200000000,"score":87,"v":1}')


class Device:
    """A scanning phone: an Ed25519 key of its own (FORMAT.md §7.14)."""

    def __init__(self, device, seed_byte):
        self.device = device
        self.signing = SigningKey(bytes([seed_byte]) * 32)
        self.public = b64(bytes(self.signing.verify_key))

    def document(self, target=("claim", "clm-1"), score=87, **changes):
        document = {"v": 1, "device": self.device, target[0]: target[1], "score": score, "model": "freshnet",
                    "modelVersion": "2.3.1", "imageSha256": sha(b"test").hex(), "scannedAt": 1764583200000000}
        document.update(changes)
        return document

    def sign(self, document):
        return b64(self.signing.sign(b"pahlawan-scan/v1\n" + canonical_json(document)).signature)

    def payload(self, stage="pickup", document=None, signer=None, **changes):
        """A scan.attested payload for `document` (by default this device's worked example),
        signed by `signer` (by default this device)."""
        document = self.document(**changes) if document is None else document
        payload = {name: value for name, value in document.items() if name != "v"}
        payload.update(scan=sha(canonical_json(document)).hex(), stage=stage,
                       signature=(signer or self).sign(document))
        return payload

    def registered(self, holder="site-toko-a"):
        return ("device.registered", {"device": self.device, "holder": holder, "publicKey": self.public})


TOKO = Device("dev-toko-a", 0x01)
THIEF = Device("dev-thief", 0x02)


class ScanTests(Case):
    T0 = 1764583200000000

    def bundle(self, *items, devices=None):
        """A signed bundle of (kind, payload) entries a second apart; verified, with stderr kept."""
        entries = chained([(self.T0 + n * 1000000, kind, payload) for n, (kind, payload) in enumerate(items)])
        path = self.write("scans.json", json.dumps(signed_bundle(entries)))
        args = [path, "--key", LOG.vkey]
        if devices is not None:
            args += ["--devices", self.write("devices.json", json.dumps(devices))]
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            result = self.run_verify(*args)
        self.stderr = err.getvalue()
        return result

    def scan_file(self, document, signature, key=TOKO.public):
        path = self.write("scan.json", json.dumps({"document": document, "signature": signature}))
        return self.run_verify("--scan", path, "--key", key)

    def test_the_worked_example_is_byte_for_byte_formats(self):
        document = TOKO.document()
        self.assertEqual(canonical_json(document), SCAN_EXAMPLE)
        self.assertEqual(verify.scan_canonical_bytes(document), SCAN_EXAMPLE)
        with open(os.path.join(HERE, "..", "ledger", "FORMAT.md"), encoding="utf-8") as f:
            section = f.read().split("### 7.14", 1)[1].split("\n## 8.", 1)[0]
        self.assertIn("\n```\n%s\n```\n" % SCAN_EXAMPLE.decode(), section)
        # Signed with the seed 32 × 0x01, as a device would: the signature verifies over the
        # 17-byte context and the canonical bytes, and the scan id is their SHA-256.
        signature = TOKO.sign(document)
        self.assertTrue(verify.scan_verifies(base64.b64decode(TOKO.public), SCAN_EXAMPLE, base64.b64decode(signature)))
        self.assertFalse(verify.scan_verifies(base64.b64decode(TOKO.public), SCAN_EXAMPLE, base64.b64decode(THIEF.sign(document))))
        self.assert_ok(self.scan_file(document, signature), "scan %s by device dev-toko-a verifies" % sha(SCAN_EXAMPLE).hex())
        # The members in another order, spaced: the same document, the same canonical bytes.
        path = self.write("spaced.json", '{"signature": "%s", "document": {"v": 1, "score": 87, "scannedAt": 1764583200000000, '
                          '"modelVersion": "2.3.1", "model": "freshnet", "imageSha256": "%s", "device": "dev-toko-a", '
                          '"claim": "clm-1"}}' % (signature, sha(b"test").hex()))
        self.assert_ok(self.run_verify("--scan", path, "--key", TOKO.public), sha(SCAN_EXAMPLE).hex())

    def test_a_valid_scan_passes(self):
        self.assert_ok(self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload()),
                                   ("scan.attested", TOKO.payload(stage="delivery", score=80)),
                                   ("scan.attested", TOKO.payload(stage="offer", target=("offer", "off-1")))),
                       "3 scan signatures verified with their devices' keys")
        self.assertEqual(self.stderr, "")

    def test_an_altered_score_fails(self):
        payload = TOKO.payload()
        payload["score"] = 95  # the entry says 95, the device signed 87
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", payload)),
                          "seq 1: scan.attested: the signature does not verify under device dev-toko-a's key (registered at seq 0)",
                          "seq 1: scan.attested: scan is")

    def test_a_retargeted_claim_fails(self):
        payload = TOKO.payload()
        payload["claim"] = "clm-2"
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", payload)), "seq 1: scan.attested: the signature does not verify")
        payload = TOKO.payload()
        del payload["claim"]
        payload["offer"] = "off-1"
        payload["stage"] = "offer"
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", payload)), "seq 1: scan.attested: the signature does not verify")

    def test_a_scan_signed_by_another_key_fails(self):
        # Re-signed by a key that is not the device's: the scan id is right, the signature is not.
        status, lines = self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload(signer=THIEF)))
        self.assert_fails((status, lines), "seq 1: scan.attested: the signature does not verify under device dev-toko-a's key")
        self.assertEqual(len(lines), 1, lines)
        # The thief's own registered device cannot sign for another device either.
        self.assert_fails(self.bundle(TOKO.registered(), THIEF.registered(), ("scan.attested", TOKO.payload(signer=THIEF))),
                          "seq 2: scan.attested: the signature does not verify")

    def test_a_replayed_scan_fails(self):
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload()), ("scan.attested", TOKO.payload())),
                          "seq 2: scan.attested: scan %s was already attested at seq 1 (a replay)" % sha(SCAN_EXAMPLE).hex())
        # Replayed at another stage: the document is the same, so it is the same scan.
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload()),
                                      ("scan.attested", TOKO.payload(stage="delivery"))), "seq 2", "a replay")

    def test_a_scan_after_revocation_fails(self):
        revoked = ("device.revoked", {"device": "dev-toko-a", "reason": "lost"})
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload()), revoked,
                                      ("scan.attested", TOKO.payload(scannedAt=1764583100000000))),
                          "seq 3: scan.attested: device dev-toko-a was revoked at seq 2")
        # A scan before the revocation stays good; one of another device is not touched.
        self.assert_ok(self.bundle(TOKO.registered(), THIEF.registered(), ("scan.attested", TOKO.payload()), revoked,
                                   ("scan.attested", THIEF.payload())), "2 scan signatures")
        # Without the registration (its key from --devices) the revocation still applies.
        self.assert_fails(self.bundle(revoked, ("scan.attested", TOKO.payload()), devices={"dev-toko-a": TOKO.public}),
                          "seq 1: scan.attested: device dev-toko-a was revoked at seq 0")

    def test_a_wrong_scan_id_fails(self):
        payload = TOKO.payload()
        payload["scan"] = sha(b"another document").hex()
        status, lines = self.bundle(TOKO.registered(), ("scan.attested", payload))
        self.assert_fails((status, lines), "seq 1: scan.attested: scan is %s, but the SHA-256 of the document's canonical bytes is %s"
                          % (sha(b"another document").hex(), sha(SCAN_EXAMPLE).hex()))
        self.assertEqual(len(lines), 1, lines)  # the signature itself is good

    def test_a_non_ascii_member_is_malformed(self):
        document = TOKO.document(model="freshn\u00e9t")
        payload = TOKO.payload(document=document)
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", payload)),
                          "seq 1: scan.attested: malformed (model is not a string of printable ASCII)")
        self.assert_fails(self.scan_file(document, TOKO.sign(document)), "malformed scan (model is not a string of printable ASCII)")
        control = TOKO.document(modelVersion="2.3\n")
        self.assert_fails(self.scan_file(control, TOKO.sign(control)), "modelVersion is not a string of printable ASCII")

    def test_an_unknown_device_key_is_not_checked_but_does_not_fail(self):
        status, lines = self.bundle(("scan.attested", TOKO.payload()))
        self.assert_ok((status, lines), "1 scans not checked (device key unknown")
        self.assertIn("seq 0: scan %s of device dev-toko-a not checked (device key unknown)" % sha(SCAN_EXAMPLE).hex(), self.stderr)
        # The checks that need no key still run.
        self.assert_fails(self.bundle(("scan.attested", TOKO.payload()), ("scan.attested", TOKO.payload())), "a replay")
        # With --devices it is checked, and a wrong key there fails it.
        self.assert_ok(self.bundle(("scan.attested", TOKO.payload()), devices={"dev-toko-a": TOKO.public}),
                       "1 scan signatures verified")
        self.assertEqual(self.stderr, "")
        self.assert_fails(self.bundle(("scan.attested", TOKO.payload()), devices={"dev-toko-a": THIEF.public}),
                          "seq 0: scan.attested: the signature does not verify under device dev-toko-a's key (given with --devices)")
        # A registration in the bundle must agree with --devices.
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload()), devices={"dev-toko-a": THIEF.public}),
                          "seq 0: device.registered: device dev-toko-a's key is not the one --devices gives")

    def test_score_and_stage(self):
        for score in (101, -1):
            self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload(score=score))),
                              "seq 1: scan.attested: malformed (score %d is outside 0..100)" % score)
        for score in (0, 100):
            self.assert_ok(self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload(score=score))))
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload(stage="arrival"))),
                          "seq 1: scan.attested: stage 'arrival' is not offer, pickup or delivery")
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload(stage="pickup", target=("offer", "off-1")))),
                          "seq 1: scan.attested: an offer scan has stage pickup, not offer")
        self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", TOKO.payload(stage="offer"))),
                          "seq 1: scan.attested: a claim scan has stage offer")

    def test_registration_rules(self):
        self.assert_fails(self.bundle(("scan.attested", TOKO.payload()), TOKO.registered()),
                          "seq 0: scan.attested: device dev-toko-a is registered only later, at seq 1")
        self.assert_fails(self.bundle(TOKO.registered(), TOKO.registered("site-toko-b")),
                          "seq 1: device.registered: device dev-toko-a was already registered at seq 0")
        twin = ("device.registered", {"device": "dev-twin", "holder": "site-toko-b", "publicKey": TOKO.public})
        self.assert_fails(self.bundle(TOKO.registered(), twin), "seq 1: device.registered: its public key already belongs to device dev-toko-a")
        short = ("device.registered", {"device": "dev-x", "holder": "site-toko-a", "publicKey": b64(b"\x01" * 31)})
        self.assert_fails(self.bundle(short), "seq 0: device.registered: malformed")

    def test_malformed_scan_entries_fail_without_a_traceback(self):
        good = TOKO.payload()
        both = dict(good, offer="off-1")
        neither = {k: v for k, v in good.items() if k != "claim"}
        missing = {k: v for k, v in good.items() if k != "imageSha256"}
        extra = dict(good, holder="site-toko-a")
        for payload, words in ((both, "exactly one of offer and claim"), (neither, "neither offer nor claim"),
                               (missing, "missing imageSha256"), (extra, "unexpected holder"),
                               (dict(good, score="87"), "score is not an integer"), (dict(good, score=True), "score is not an integer"),
                               (dict(good, signature="not base64"), "signature is not the base64 of 64 bytes"),
                               (dict(good, signature=b64(b"\x00" * 63)), "signature"),
                               (dict(good, scan=5), "scan or stage is not a string"),
                               (dict(good, imageSha256=sha(b"test").hex().upper()), "imageSha256 is not 64 lowercase hex"),
                               (dict(good, modelVersion="2.3.1-RC"), "modelVersion"), (dict(good, device="Dev A"), "device"),
                               (dict(good, v=1), "unexpected v"), ([good], "not a JSON object"), ("x", "not a JSON object")):
            with self.subTest(words=words):
                self.assert_fails(self.bundle(TOKO.registered(), ("scan.attested", payload)), "seq 1: scan.attested: malformed", words)
        self.assert_fails(self.bundle(("device.revoked", ["dev-toko-a"])), "seq 0: device.revoked: malformed")
        # A devices file that is not an object of keys.
        for devices in ([TOKO.public], {"dev-toko-a": "AAAA"}, {"dev-toko-a": 5}):
            self.assert_fails(self.bundle(("scan.attested", good), devices=devices), "devices file")

    def test_the_scan_mode(self):
        document = TOKO.document()
        self.assert_fails(self.scan_file(dict(document, score=88), TOKO.sign(document)), "the signature does not verify")
        self.assert_fails(self.scan_file(dict(document, claim="clm-2"), TOKO.sign(document)), "the signature does not verify")
        self.assert_fails(self.scan_file(document, THIEF.sign(document)), "the signature does not verify")
        self.assert_fails(self.scan_file(document, TOKO.sign(document), key=THIEF.public), "the signature does not verify")
        self.assert_fails(self.scan_file(dict(document, v=2), TOKO.sign(dict(document, v=2))), "v is 2, not 1")
        self.assert_fails(self.scan_file(dict(document, score=101), TOKO.sign(dict(document, score=101))), "score 101 is outside 0..100")
        self.assert_fails(self.run_verify("--scan", self.write("bad.json", "{"), "--key", TOKO.public), "cannot read the scan")
        self.assert_fails(self.run_verify("--scan", self.write("float.json", '{"document": {"score": 8.7}, "signature": ""}'),
                                          "--key", TOKO.public), "cannot read the scan")
        self.assert_fails(self.run_verify("--scan", self.write("list.json", "[]"), "--key", TOKO.public), "not a JSON object")
        path = self.write("extra.json", json.dumps({"document": document, "signature": TOKO.sign(document), "scan": "x"}))
        self.assert_fails(self.run_verify("--scan", path, "--key", TOKO.public), "unexpected scan")
        # The key from a file; a key that is not 32 bytes, or no key, is a usage error.
        key = self.write("device.pub", TOKO.public + "\n")
        self.assert_ok(self.run_verify("--scan", self.write("scan.json", json.dumps({"document": document, "signature": TOKO.sign(document)})),
                                       "--key", key))
        with contextlib.redirect_stderr(io.StringIO()):
            self.assert_usage_error("--scan", "scan.json", "--key", LOG.vkey)
            self.assert_usage_error("--scan", "scan.json")

    def test_runs_as_a_program(self):
        document = TOKO.document()
        path = self.write("scan.json", json.dumps({"document": document, "signature": TOKO.sign(document)}))
        done = subprocess.run([sys.executable, os.path.join(HERE, "verify.py"), "--scan", path, "--key", TOKO.public],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertEqual(done.stdout, "OK %s: scan %s by device dev-toko-a verifies\n" % (path, sha(SCAN_EXAMPLE).hex()))
        bad = self.write("bad.json", json.dumps({"document": dict(document, score=20), "signature": TOKO.sign(document)}))
        done = subprocess.run([sys.executable, os.path.join(HERE, "verify.py"), "--scan", bad, "--key", TOKO.public],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 1)
        self.assertTrue(done.stdout.startswith("FAIL "), done.stdout)
        self.assertNotIn("Traceback", done.stderr)
        entries = chained([(self.T0, "scan.attested", TOKO.payload())])
        bundle = self.write("bundle.json", json.dumps(signed_bundle(entries)))
        done = subprocess.run([sys.executable, os.path.join(HERE, "verify.py"), bundle, "--key", LOG.vkey],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("not checked (device key unknown)", done.stderr)
        devices = self.write("devices.json", json.dumps({"dev-toko-a": TOKO.public}))
        done = subprocess.run([sys.executable, os.path.join(HERE, "verify.py"), bundle, "--key", LOG.vkey, "--devices", devices],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("1 scan signatures verified", done.stdout)


class ExistingModesTests(Case):
    def test_bundle_and_entry(self):
        size = 9
        text = checkpoint_text(size)
        bundle = {"format": "pahlawan-bundle/v1", "checkpoint": note(text), "verifier_key": LOG.vkey,
                  "previous": {"seq": 2, "leaf_hash": b64(leaf(BODIES[2])), "proof": [b64(h) for h in path(2, BODIES[:size])]},
                  "entries": [{"seq": s, "body": b64(BODIES[s]), "leaf_hash": b64(leaf(BODIES[s])), "signature": b64(ENTRIES[s][1]),
                               "proof": [b64(h) for h in path(s, BODIES[:size])]} for s in range(3, 7)]}
        self.assert_ok(self.run_verify(self.write("bundle.json", json.dumps(bundle)), "--key", LOG.vkey), "4 entries verified")
        bundle["entries"][1]["signature"] = b64(flip(ENTRIES[4][1]))
        self.assert_fails(self.run_verify(self.write("bundle.json", json.dumps(bundle)), "--key", LOG.vkey), "seq 4")
        answer = {"seq": 5, "body": BODIES[5].decode(), "leafHash": leaf(BODIES[5]).hex(), "signature": b64(ENTRIES[5][1]),
                  "checkpoint": {"note": note(text), "size": size, "root": mth(BODIES[:size]).hex()},
                  "inclusionProof": [h.hex() for h in path(5, BODIES[:size])]}
        self.assert_ok(self.run_verify("--entry", self.write("entry.json", json.dumps(answer)), "--key", LOG.vkey),
                       "seq 5 is in the signed tree of size 9")

    def test_help(self):
        done = subprocess.run([sys.executable, os.path.join(HERE, "verify.py"), "--help"], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0)
        self.assertIn("--proof FILE.tlog-proof", done.stdout)
        self.assertIn("--consistency PROOF.json", done.stdout)


if __name__ == "__main__":
    unittest.main()
