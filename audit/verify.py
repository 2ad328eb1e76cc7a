#!/usr/bin/env python3
"""Independent verifier for Pahlawan Trust export bundles (pahlawan-bundle/v1).

It shares no code with the Swift implementation: it re-implements, from ledger/FORMAT.md and the
public standards, RFC 8785 canonical JSON, RFC 6962/9162 inclusion proofs and C2SP signed notes.

Usage: python3 audit/verify.py BUNDLE [--key VKEY]
       python3 audit/verify.py --entry ANSWER.json --key VKEY        (GET /v1/entries/{seq})
       python3 audit/verify.py --certificate REPORT.json --key VKEY  (an impact certificate)
  VKEY is the verifier key you trust, as text (name+keyid+base64) or a file holding it.
  Without --key, the bundle's own key is used and a warning says so.
Exit status: 0 when everything verifies, 1 otherwise (one line per failure).
Needs PyNaCl (Debian: python3-nacl; PyPI: pynacl).
"""
import base64
import hashlib
import json
import os
import sys

try:
    from nacl.signing import VerifyKey
    from nacl.exceptions import BadSignatureError
except ImportError:
    sys.exit("verify.py needs PyNaCl: apt-get install python3-nacl, or pip install pynacl")

BODY_KEYS = {"v", "seq", "time", "kind", "actor", "payload", "policy", "prev", "key"}
ENTRY_CONTEXT = b"pahlawan-entry/v1\x00"
INTEGER_MAX = 2**53 - 1
BODY_BYTES_MAX = 65535


def b64(text):
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise ValueError("non-canonical base64")
    return raw


# --- C2SP signed notes and keys -------------------------------------------------------------

def parse_verifier_key(text):
    name, key_id_hex, key_b64 = text.strip().split("+", 2)  # base64 may contain "+"
    material = b64(key_b64)
    if len(material) != 33 or material[0] != 0x01:
        raise ValueError("not an Ed25519 verifier key")
    public_key = material[1:]
    key_id = hashlib.sha256(name.encode() + b"\n" + b"\x01" + public_key).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise ValueError("key id does not match the key")
    return name, key_id, VerifyKey(public_key)


def open_note(note, name, key_id, verify_key):
    """Returns the note text if it carries a valid signature by the key; signatures by others are ignored."""
    split = note.rindex("\n\n")
    text, block = note[: split + 1], note[split + 2 :]
    good = False
    for line in block.rstrip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            raise ValueError("malformed signature line")
        signer, sig_b64 = line[2:].split(" ")
        material = b64(sig_b64)
        if signer == name and material[:4] == key_id:
            verify_key.verify(text.encode(), material[4:])  # raises BadSignatureError
            good = True
    if not good:
        raise ValueError("no signature by the trusted key")
    return text


def parse_checkpoint(text):
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise ValueError("checkpoint must be origin, size, root")
    if str(int(lines[1])) != lines[1]:
        raise ValueError("size is not canonical decimal")
    root = b64(lines[2])
    if len(root) != 32:
        raise ValueError("root is not 32 bytes")
    return lines[0], int(lines[1]), root


# --- RFC 8785 canonical JSON (the subset the ledger allows) -----------------------------------

def _reject_float(_):
    raise ValueError("floating-point number")


def _reject_constant(_):
    raise ValueError("NaN or Infinity")


def _pairs(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError("duplicate key " + repr(k))
        obj[k] = v
    return obj


# JSON.stringify's escapes, which RFC 8785 adopts; other C0 controls become \\u00xx.
SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def canonical(value):
    if value is None:
        raise ValueError("null is not allowed")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) > INTEGER_MAX:
            raise ValueError("integer beyond 2^53-1")
        return str(value)
    if isinstance(value, str):
        out = ['"']
        for ch in value:
            o = ord(ch)
            if ch in SHORT_ESCAPES:
                out.append(SHORT_ESCAPES[ch])
            elif o < 0x20:
                out.append("\\u%04x" % o)
            elif 0xD800 <= o <= 0xDFFF:
                raise ValueError("lone surrogate")
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(canonical(k) + ":" + canonical(value[k]) for k in keys) + "}"
    raise ValueError("unexpected JSON type")


def decode_body(raw):
    if len(raw) > BODY_BYTES_MAX:
        raise ValueError("body larger than 65535 bytes")
    body = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs, parse_float=_reject_float,
                      parse_constant=_reject_constant)
    if canonical(body).encode("utf-8") != raw:
        raise ValueError("body is not RFC 8785 canonical")
    if not isinstance(body, dict) or set(body) != BODY_KEYS:
        raise ValueError("body keys are not exactly " + ",".join(sorted(BODY_KEYS)))
    if body["v"] != 1:
        raise ValueError("v is not 1")
    for name in ("policy", "prev"):
        if not isinstance(body[name], str) or len(body[name]) != 64 or body[name] != body[name].lower():
            raise ValueError(name + " is not 64 lowercase hex digits")
        bytes.fromhex(body[name])
    return body


# --- RFC 6962 / 9162 Merkle proofs ------------------------------------------------------------

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf, index, size, proof, root):
    """RFC 9162 section 2.1.3.2, with the exact proof length checked."""
    if index >= size:
        return False
    inner = (index ^ (size - 1)).bit_length()
    if len(proof) != inner + bin(index >> inner).count("1"):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- the bundle -------------------------------------------------------------------------------

def verify_bundle(bundle, trusted_key_text):
    failures = []
    fail = failures.append
    if bundle.get("format") != "pahlawan-bundle/v1":
        return ["bundle: format is not pahlawan-bundle/v1"]
    key_text = trusted_key_text or bundle.get("verifier_key", "")
    if trusted_key_text and bundle.get("verifier_key", "").strip() != trusted_key_text.strip():
        fail("bundle: its verifier_key differs from the key you trust")
    name, key_id, verify_key = parse_verifier_key(key_text)
    try:
        origin, size, root = parse_checkpoint(open_note(bundle["checkpoint"], name, key_id, verify_key))
    except (ValueError, KeyError, BadSignatureError) as error:
        return failures + ["checkpoint: " + (str(error) or "signature does not verify")]
    if origin != name:
        fail("checkpoint: origin %s is not the key name %s" % (origin, name))
    prev_seq, prev_hash = None, None
    if "previous" in bundle:
        p = bundle["previous"]
        try:
            h = b64(p["leaf_hash"])
            if verify_inclusion(h, p["seq"], size, [b64(x) for x in p["proof"]], root):
                prev_seq, prev_hash = p["seq"], h
            else:
                fail("previous seq %s: inclusion proof fails" % p.get("seq"))
        except (ValueError, KeyError, TypeError) as error:
            fail("previous: malformed (%s)" % error)
    entries = bundle.get("entries") or []
    if not entries:
        fail("bundle: no entries")
    for index, item in enumerate(entries):
        seq = item.get("seq")
        try:
            raw = b64(item["body"])
            leaf = leaf_hash(raw)
            body = decode_body(raw)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            fail("seq %s: body: %s" % (seq, error))
            continue
        if body["seq"] != seq:
            fail("seq %s: the body says seq %s" % (seq, body["seq"]))
        if "leaf_hash" in item and item["leaf_hash"] != base64.b64encode(leaf).decode():
            fail("seq %s: leaf_hash does not match the body" % seq)
        if body["key"] != key_id.hex():
            fail("seq %s: signed by key %s, not %s" % (seq, body["key"], key_id.hex()))
        try:
            verify_key.verify(ENTRY_CONTEXT + leaf, b64(item["signature"]))
        except (BadSignatureError, ValueError, KeyError):
            fail("seq %s: entry signature does not verify" % seq)
        try:
            if not verify_inclusion(leaf, seq, size, [b64(x) for x in item["proof"]], root):
                fail("seq %s: inclusion proof fails" % seq)
        except (ValueError, KeyError, TypeError):
            fail("seq %s: proof is not a list of base64 hashes" % seq)
        if seq == 0:
            if body["prev"] != "0" * 64:
                fail("seq 0: prev is not all zeros")
        elif prev_seq == seq - 1:
            if bytes.fromhex(body["prev"]) != prev_hash:
                fail("seq %s: prev does not match the leaf hash of seq %s" % (seq, seq - 1))
        elif index > 0:
            fail("seq %s: entries are not consecutive" % seq)
        prev_seq, prev_hash = seq, leaf
    return failures


# --- one entry as the API answers it (GET /v1/entries/{seq}) ------------------------------------

def verify_api_entry(answer, trusted_key_text):
    """The answer carries the exact body (text), its signature (base64), the signed checkpoint
    note it is proved against and the inclusion proof (hex hashes)."""
    failures = []
    fail = failures.append
    name, key_id, verify_key = parse_verifier_key(trusted_key_text)
    checkpoint = answer["checkpoint"]
    try:
        origin, size, root = parse_checkpoint(open_note(checkpoint["note"], name, key_id, verify_key))
    except (ValueError, KeyError, BadSignatureError) as error:
        return ["checkpoint: " + (str(error) or "signature does not verify")]
    if origin != name:
        fail("checkpoint: origin %s is not the key name %s" % (origin, name))
    if checkpoint.get("size") != size or checkpoint.get("root") != root.hex():
        fail("checkpoint: the size or root shown differ from the signed note")
    seq = answer["seq"]
    raw = answer["body"].encode("utf-8")
    leaf = leaf_hash(raw)
    body = decode_body(raw)
    if body["seq"] != seq:
        fail("seq %s: the body says seq %s" % (seq, body["seq"]))
    if answer.get("leafHash") != leaf.hex():
        fail("seq %s: leafHash does not match the body" % seq)
    if body["key"] != key_id.hex():
        fail("seq %s: signed by key %s, not %s" % (seq, body["key"], key_id.hex()))
    try:
        verify_key.verify(ENTRY_CONTEXT + leaf, b64(answer["signature"]))
    except (BadSignatureError, ValueError, KeyError):
        fail("seq %s: entry signature does not verify" % seq)
    if not verify_inclusion(leaf, seq, size, [bytes.fromhex(x) for x in answer["inclusionProof"]], root):
        fail("seq %s: inclusion proof fails" % seq)
    return failures


# --- an impact certificate (GET /v1/reports/certificate/{company}, pahlawan report certificate) --

CERTIFICATE_HEADER = "Pahlawan Trust impact certificate v1"


def verify_certificate(report, trusted_key_text):
    """The certificate is a signed note under the ledger's key; its lines must say what the
    report's line says, and its checkpoint line must be the report's checkpoint."""
    name, key_id, verify_key = parse_verifier_key(trusted_key_text)
    note = report["sections"]["note"]
    try:
        text = open_note(note, name, key_id, verify_key)
    except (ValueError, BadSignatureError) as error:
        return ["note: " + (str(error) or "signature does not verify")]
    lines = text.rstrip("\n").split("\n")
    if lines[0] != CERTIFICATE_HEADER:
        return ["note: not an impact certificate (first line %r)" % lines[0]]
    stated = dict(line.split(" ", 1) for line in lines[1:])
    failures = []
    line = report["lines"][0]
    for column in report["columns"]:
        if stated.get(column) != str(line[column]):
            failures.append("%s: the note says %r, the report %r" % (column, stated.get(column), line[column]))
    checkpoint = "%d %s" % (report["checkpoint"]["size"], report["checkpoint"]["root"])
    if stated.get("checkpoint") != checkpoint:
        failures.append("checkpoint: the note says %r, the report %r" % (stated.get("checkpoint"), checkpoint))
    return failures


def main(argv):
    args = argv[1:]
    if "--entry" in args:
        return main_entry(args)
    if "--certificate" in args:
        return main_certificate(args)
    key = None
    if "--key" in args:
        i = args.index("--key")
        if i + 1 >= len(args):
            sys.exit("usage: verify.py BUNDLE [--key VKEY]")
        key = args[i + 1]
        del args[i : i + 2]
        if os.path.isfile(key):
            with open(key) as f:
                key = f.read().strip()
    if len(args) != 1:
        sys.exit("usage: verify.py BUNDLE [--key VKEY]")
    path = args[0]
    try:
        with open(path, "rb") as f:
            bundle = json.load(f)
    except (OSError, ValueError) as error:
        print("FAIL %s: cannot read the bundle: %s" % (path, error))
        return 1
    if key is None:
        print("warning: no --key given; trusting the bundle's own verifier_key", file=sys.stderr)
    try:
        failures = verify_bundle(bundle, key)
    except (ValueError, KeyError, TypeError) as error:
        failures = ["bundle: malformed (%s)" % error]
    for failure in failures:
        print("FAIL %s: %s" % (path, failure))
    if failures:
        return 1
    print("OK %s: %d entries verified" % (path, len(bundle["entries"])))
    return 0


def main_with_key(args, flag, verify, describe):
    """verify.py FLAG FILE --key VKEY: one JSON answer checked by `verify` against the key you
    trust; `describe` words the success."""
    usage = "usage: verify.py %s FILE.json --key VKEY" % flag
    try:
        path = args[args.index(flag) + 1]
        key = args[args.index("--key") + 1]
    except (ValueError, IndexError):
        sys.exit(usage)
    if os.path.isfile(key):
        with open(key) as f:
            key = f.read().strip()
    try:
        with open(path, "rb") as f:
            answer = json.load(f)
        failures = verify(answer, key)
    except (OSError, ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError) as error:
        failures = ["malformed answer (%s)" % error]
    for failure in failures:
        print("FAIL %s: %s" % (path, failure))
    if failures:
        return 1
    print("OK %s: %s" % (path, describe(answer)))
    return 0


def main_entry(args):
    """verify.py --entry ANSWER.json --key VKEY: one API entry answer."""
    return main_with_key(args, "--entry", verify_api_entry,
                         lambda a: "seq %d is in the signed tree of size %d" % (a["seq"], a["checkpoint"]["size"]))


def main_certificate(args):
    """verify.py --certificate REPORT.json --key VKEY: an impact certificate."""
    return main_with_key(args, "--certificate", verify_certificate,
                         lambda r: "%s, tier %s, at the signed tree of size %d" % (r["lines"][0]["company"], r["lines"][0]["tier"], r["checkpoint"]["size"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
