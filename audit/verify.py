#!/usr/bin/env python3
"""Independent verifier for Pahlawan Trust export bundles (pahlawan-bundle/v1).

It shares no code with the Swift implementation: it re-implements, from ledger/FORMAT.md and the
public standards, RFC 8785 canonical JSON, RFC 6962/9162 inclusion proofs and C2SP signed notes.

Usage: python3 audit/verify.py BUNDLE [--key VKEY [--keys KEYS.json]] [--devices DEVICES.json]
       python3 audit/verify.py --entry ANSWER.json --key VKEY [--keys KEYS.json]   (GET /v1/entries/{seq})
       python3 audit/verify.py --certificate REPORT.json --key VKEY [--keys KEYS.json]  (an impact certificate)
       python3 audit/verify.py --proof FILE.tlog-proof --key VKEY [--keys KEYS.json] [--witness WKEY ...] [--quorum Q]
                                                   (an offline proof, C2SP tlog-proof v1, FORMAT.md §10.5)
       python3 audit/verify.py --consistency PROOF.json --old OLD.note --new NEW.note --key VKEY
                               [--keys KEYS.json] [--witness WKEY ...] [--quorum Q]
                                                   (GET /v1/proofs/consistency between two signed checkpoints)
       python3 audit/verify.py --keys KEYS.json --key VKEY [--witness WKEY ...] [--quorum Q]
                                                   (the keys document alone, GET /v1/keys, FORMAT.md §10.7)
       python3 audit/verify.py --scan SCAN.json --key DEVICEKEY
                                                   (one device-signed freshness scan, FORMAT.md §7.14)
  VKEY is the log's initial verifier key you trust, as text (name+keyid+base64) or a file holding it.
  Without --key, the bundle's own key is used and a warning says so. After the log rotated its
  key, KEYS.json (GET /v1/keys, `pahlawan key document`) proves each later key from VKEY; a
  bundle carries the rotations it needs itself.
  WKEY is a witness's verifier key (signature type 0x04, FORMAT.md §10.1), as text or a file
  holding it; repeat --witness for each witness you trust. Q is how many distinct trusted
  witnesses must have cosigned each checkpoint: by default all of them (0 without --witness).
  A bundle's auction.sold entries are also checked against FORMAT.md §7.12: each price is
  recomputed from its auction.started (when the bundle holds it), and the claim and escrow that
  follow must be at that price.
  A bundle's scan.attested entries are checked against FORMAT.md §7.14: each scan document is
  rebuilt from the entry, its id recomputed and its Ed25519 signature checked with its device's
  key, from the device.registered entry in the bundle or else from DEVICES.json (a JSON object:
  device id -> base64 32-byte public key); a scan whose device key is neither is reported as not
  checked (a warning, not a failure). A scan after its device's device.revoked, the same scan
  twice, a score outside 0..100 or a stage that does not fit fails.
  SCAN.json is {"document": {...the scan document...}, "signature": "<base64>"}; DEVICEKEY is the
  device's public key, base64 of 32 bytes (or a file holding it).
Exit status: 0 when everything verifies, 1 otherwise (one line per failure).
Needs PyNaCl (Debian: python3-nacl; PyPI: pynacl).
"""
import base64
import hashlib
import json
import os
import re
import sys
import time

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


WITNESS_KEY_TYPE = 0x04  # C2SP tlog-cosignature v1, Ed25519 (FORMAT.md §10.1)


def parse_witness_key(text):
    """A witness's verifier key `<name>+<key id>+<base64(0x04 ‖ public key)>`. Returns
    (name, key id, VerifyKey, public key bytes)."""
    parts = text.strip().split("+", 2)  # base64 may contain "+"
    if len(parts) != 3:
        raise ValueError("not name+keyid+key")
    name, key_id_hex, key_b64 = parts
    if not name or any(ch.isspace() for ch in name):
        raise ValueError("the key name is empty or holds a space")
    material = b64(key_b64)
    if len(material) != 33 or material[0] != WITNESS_KEY_TYPE:
        raise ValueError("not an Ed25519 witness key (signature type 0x04)")
    public_key = material[1:]
    key_id = hashlib.sha256(name.encode() + b"\n" + bytes([WITNESS_KEY_TYPE]) + public_key).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise ValueError("key id does not match the key")
    return name, key_id, VerifyKey(public_key), public_key


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


# --- key rotations (FORMAT.md §10.7) -------------------------------------------------------------

KEY_ROTATION_KIND = "key.rotated"


class KeyChain:
    """The keys a log signed with, from the one key you trust: each `key.rotated` entry, signed
    by the key before it, adds the next. Links: [first seq, (name, key id, VerifyKey), public key
    bytes, seq of the rotation that retired it or None, untrustedFrom or None]."""

    def __init__(self, initial_text):
        name, key_id, verify_key = parse_verifier_key(initial_text)
        self.origin = name
        self.links = [[0, (name, key_id, verify_key), bytes(verify_key), None, None]]

    def _link(self, seq):
        return [link for link in self.links if link[0] <= seq][-1]

    def key_for_seq(self, seq):
        """The (name, key id, VerifyKey) that signs entry `seq`."""
        return self._link(seq)[1]

    def checkpoint_key(self, size, witnessed):
        """The key that must sign a checkpoint of `size` entries. A key reported compromised
        could have signed any size and any root for a thief: its checkpoints count only when
        `witnessed` (a quorum of at least one witness is required and checked) and no larger
        than untrustedFrom; ValueError otherwise."""
        first, key, _, retired, untrusted = self._link(size)
        if untrusted is not None and (size > untrusted or not witnessed):
            why = "above untrustedFrom %d" % untrusted if size > untrusted else "and no witness quorum vouches for it"
            raise ValueError("a checkpoint of %d entries is signed by key %s, which the rotation at seq %d reports "
                             "compromised (%s): use a checkpoint of more than %d entries"
                             % (size, key[1].hex(), retired, why, retired))
        return key

    def follow(self, seq, raw, signature):
        """Checks the key.rotated entry `raw` at `seq` (signature by the current key, the rules
        of §10.7) and adds its key. Raises ValueError naming what is wrong."""
        first, (name, key_id, verify_key), _, _, _ = self.links[-1]
        body = decode_body(raw)
        if body["seq"] != seq:
            raise ValueError("the body says seq %s" % body["seq"])
        if body["kind"] != KEY_ROTATION_KIND:
            raise ValueError("it is a %s entry, not %s" % (body["kind"], KEY_ROTATION_KIND))
        if body["key"] != key_id.hex():
            raise ValueError("it names key %s, not the current key %s" % (body["key"], key_id.hex()))
        try:
            verify_key.verify(ENTRY_CONTEXT + leaf_hash(raw), signature)
        except BadSignatureError:
            raise ValueError("its signature does not verify with the current key %s" % key_id.hex())
        if seq < first:
            raise ValueError("it comes before the current key's first entry %d" % first)
        payload = body["payload"]
        reason = payload.get("reason")
        if reason == "scheduled":
            expected = {"newKey", "reason"}
        elif reason == "compromise":
            expected = {"newKey", "reason", "untrustedFrom"}
        else:
            raise ValueError("reason is %r, not scheduled or compromise" % reason)
        if set(payload) != expected:
            raise ValueError("a %s rotation has exactly %s" % (reason, ", ".join(sorted(expected))))
        if type(payload["newKey"]) is not str or payload["newKey"] != payload["newKey"].strip():
            raise ValueError("newKey is not verifier key text (a string, with no surrounding space)")
        new_name, new_id, new_key = parse_verifier_key(payload["newKey"])
        if new_name != self.origin:
            raise ValueError("the new key is named %s, not the origin %s" % (new_name, self.origin))
        if any(link[1][1] == new_id or link[2] == bytes(new_key) for link in self.links):
            raise ValueError("the new key %s has signed for this log before" % new_id.hex())
        if reason == "compromise":
            untrusted = payload["untrustedFrom"]
            if type(untrusted) is not int or not first <= untrusted <= seq:
                raise ValueError("untrustedFrom %r is outside the seqs the outgoing key signed (%d..%d)"
                                 % (untrusted, first, seq))
            self.links[-1][4] = untrusted
        self.links[-1][3] = seq
        self.links.append([seq + 1, (new_name, new_id, new_key), bytes(new_key), None, None])


def follow_rotations(chain, items, size, root):
    """Follows the rotations of a bundle or keys document: each {seq, signature, body, proof} in
    increasing seq order, included in the tree (size, root). A rotation left out makes the
    checkpoint's signature fail afterwards, so the list cannot hide one. Raises ValueError."""
    if not isinstance(items, list):
        raise ValueError("key rotations are not a list")
    last = None
    for item in items:
        seq = item["seq"]
        if type(seq) is not int or seq < 0 or seq >= size or (last is not None and seq <= last):
            raise ValueError("key rotation seq %r is out of order or outside the checkpoint's %d entries" % (seq, size))
        last = seq
        raw, signature = b64(item["body"]), b64(item["signature"])
        proof = [b64(x) for x in item["proof"]]
        if len(proof) != inclusion_proof_length(seq, size) or not verify_inclusion(leaf_hash(raw), seq, size, proof, root):
            raise ValueError("the key rotation at seq %d is not in the checkpoint's tree" % seq)
        try:
            chain.follow(seq, raw, signature)
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            raise ValueError("key rotation at seq %d: %s" % (seq, error or type(error).__name__))
    return chain


def unverified_checkpoint(note):
    """(origin, size, root) of a checkpoint note, before any signature is checked: the key that
    must have signed it depends on its size."""
    text, _ = split_signed_note(note)
    return parse_checkpoint(text)


def verify_keys_document(document, trusted_key_text, witnesses, quorum, now):
    """The keys document (pahlawan-keys/v1): returns (KeyChain, [failures])."""
    chain = KeyChain(trusted_key_text)
    if not isinstance(document, dict) or document.get("format") != "pahlawan-keys/v1":
        return chain, ["keys document: format is not pahlawan-keys/v1"]
    if not isinstance(document.get("initial"), str) or document["initial"].strip() != trusted_key_text.strip():
        return chain, ["keys document: its initial key is not the key you trust"]
    try:
        _, size, root = unverified_checkpoint(document["checkpoint"])
        follow_rotations(chain, document["rotations"], size, root)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return KeyChain(trusted_key_text), ["keys document: %s" % (error or type(error).__name__)]
    _, _, problems = verify_cosigned_checkpoint(document["checkpoint"], chain, witnesses, quorum, now, "keys document checkpoint")
    if problems:
        return KeyChain(trusted_key_text), problems
    return chain, []


def rotation_hint(chain):
    return " (if the log rotated its key, pass --keys: GET /v1/keys)" if len(chain.links) == 1 else ""


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


NESTING_MAX = 32


def nesting_depth(raw):
    """The deepest nesting of arrays and objects in JSON bytes, read without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def decode_body(raw):
    if len(raw) > BODY_BYTES_MAX:
        raise ValueError("body larger than 65535 bytes")
    if nesting_depth(raw) > NESTING_MAX:
        raise ValueError("body nests deeper than %d levels" % NESTING_MAX)
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

def verify_bundle(bundle, trusted_key_text, known=None, devices=None):
    """A bundle, following its own key rotations from the trusted key; with `known` (the chain a
    keys document proved), its rotations must agree with it and a compromise reported since
    applies too. `devices` (id -> public key bytes, --devices) are the keys of devices whose
    device.registered is not in the bundle."""
    failures = []
    fail = failures.append
    if bundle.get("format") != "pahlawan-bundle/v1":
        return ["bundle: format is not pahlawan-bundle/v1"]
    key_text = trusted_key_text or bundle.get("verifier_key", "")
    if trusted_key_text and bundle.get("verifier_key", "").strip() != trusted_key_text.strip():
        fail("bundle: its verifier_key differs from the key you trust")
    chain = KeyChain(key_text)
    try:
        _, size, root = unverified_checkpoint(bundle["checkpoint"])
        follow_rotations(chain, bundle.get("key_rotations", []), size, root)
        if known is not None:
            # One may be newer than the other; the longer one, which extends the shorter, decides.
            short, long = (known, chain) if len(known.links) <= len(chain.links) else (chain, known)
            if [(l[0], l[2]) for l in long.links[:len(short.links)]] != [(l[0], l[2]) for l in short.links]:
                raise ValueError("the bundle's key rotations and the keys document's name different keys")
            chain = long
        name, key_id, verify_key = chain.checkpoint_key(size, witnessed=False)
        origin, size, root = parse_checkpoint(open_note(bundle["checkpoint"], name, key_id, verify_key))
    except (ValueError, KeyError, TypeError, BadSignatureError) as error:
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
    decoded = []
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
        _, entry_key_id, entry_key = chain.key_for_seq(seq) if type(seq) is int and seq >= 0 else (None, key_id, verify_key)
        if body["key"] != entry_key_id.hex():
            fail("seq %s: signed by key %s, not %s" % (seq, body["key"], entry_key_id.hex()))
        try:
            entry_key.verify(ENTRY_CONTEXT + leaf, b64(item["signature"]))
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
        decoded.append(body)
    try:
        auction_failures, sales = check_auction_prices(decoded)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
        auction_failures, sales = ["auction entries: malformed (%s)" % error], 0
    failures += auction_failures
    bundle["_auction_sales_checked"] = sales
    try:
        scan_failures, scans, unchecked = check_scans(decoded, devices)
    except (KeyError, TypeError, ValueError) as error:
        scan_failures, scans, unchecked = ["device and scan entries: malformed (%s)" % error], 0, []
    failures += scan_failures
    bundle["_scans_checked"], bundle["_scans_unchecked"] = scans, unchecked
    return failures


# --- Flash Ludes prices (FORMAT.md §7.12), recomputed from the entries alone -------------------

def auction_price(started, elapsed):
    """The whole lot's price `elapsed` µs after the start, from an auction.started payload."""
    p0, f, t = started["startRupiah"], started["floorRupiah"], started["durationMicroseconds"]
    if elapsed <= 0:
        return p0
    if elapsed >= t:
        return f
    d = p0 - f
    shape = started["shape"]
    if shape == "linear":
        return p0 - d * elapsed // t
    if shape == "steps":
        return max(f, p0 - (elapsed // started["stepMicroseconds"]) * (d * started["dropPermille"] // 1000))
    if shape == "exponential":
        h = started["halfLifeMicroseconds"]
        k, r = divmod(elapsed, h)
        a, b = d >> k, d >> (k + 1)
        return f + a - (a - b) * r // h
    raise ValueError("unknown shape %r" % shape)


def check_auction_prices(bodies):
    """Every auction.sold whose auction.started is among `bodies` (decoded, in seq order): its
    price recomputed from the curve, the claim and escrow that follow it at that price, sold
    before the end and above the floor, never more than the lot. Returns (failures, sales checked)."""
    failures, started, sold, checked = [], {}, {}, 0
    by_seq = {body["seq"]: body for body in bodies}
    for body in bodies:
        kind, payload, seq = body["kind"], body["payload"], body["seq"]
        if kind == "auction.started":
            started[payload["auction"]] = (body["time"], payload)
        elif kind == "auction.sold" and payload["auction"] in started:
            start_time, curve = started[payload["auction"]]
            elapsed = body["time"] - start_time
            checked += 1
            expected = auction_price(curve, elapsed)
            lot = curve["portions"]
            share = -(-expected * payload["portions"] // lot)
            if payload["elapsedMicroseconds"] != elapsed:
                failures.append("seq %d: auction.sold says %d µs elapsed, the entries %d" % (seq, payload["elapsedMicroseconds"], elapsed))
            if payload["lotPriceRupiah"] != expected or payload["priceRupiah"] != share:
                failures.append("seq %d: auction.sold at %d (lot %d), the curve gives %d (lot %d)"
                                % (seq, payload["priceRupiah"], payload["lotPriceRupiah"], share, expected))
            if body["time"] >= curve["endsAt"] or expected <= curve["floorRupiah"]:
                failures.append("seq %d: auction.sold at or after its end, or at its floor" % seq)
            sold[payload["auction"]] = sold.get(payload["auction"], 0) + payload["portions"]
            if sold[payload["auction"]] > lot:
                failures.append("seq %d: auction %s sold %d of %d portions" % (seq, payload["auction"], sold[payload["auction"]], lot))
            claim, escrow = by_seq.get(seq + 1), by_seq.get(seq + 2)
            if claim is not None and (claim["kind"] != "claim.placed" or claim["payload"]["claim"] != payload["claim"]
                                      or claim["payload"]["priceRupiah"] != payload["priceRupiah"]):
                failures.append("seq %d: the claim after auction.sold is not at the sale's price" % (seq + 1))
            if escrow is not None and (escrow["kind"] != "escrow.held" or escrow["payload"]["rupiah"] != payload["priceRupiah"]):
                failures.append("seq %d: the escrow after auction.sold does not hold the sale's price" % (seq + 2))
    return failures, checked


# --- Pahlawan-Scan: devices and freshness scans (FORMAT.md §7.14) -------------------------------

SCAN_CONTEXT = b"pahlawan-scan/v1\n"     # the 17 bytes before a scan document's canonical bytes
SCAN_STAGES = ("offer", "pickup", "delivery")
SCAN_INTEGERS = ("v", "score", "scannedAt")
SCAN_REFERENCE = re.compile(r"[a-z0-9._:-]{1,64}")   # §9 references: every id the service takes matches it
SCAN_GRAMMAR = {
    "device": (SCAN_REFERENCE, "an id (1-64 bytes of a-z 0-9 . _ : -)"),
    "offer": (SCAN_REFERENCE, "an id (1-64 bytes of a-z 0-9 . _ : -)"),
    "claim": (SCAN_REFERENCE, "an id (1-64 bytes of a-z 0-9 . _ : -)"),
    "model": (SCAN_REFERENCE, "an id (1-64 bytes of a-z 0-9 . _ : -)"),
    "modelVersion": (re.compile(r"[0-9a-z.-]{1,32}"), "1-32 bytes of 0-9 a-z . -"),
    "imageSha256": (re.compile(r"[0-9a-f]{64}"), "64 lowercase hex digits"),
}


def shown(text):
    """A name from the input, safe to print: non-ASCII and control characters escaped."""
    return ascii(text)[1:-1]


def scan_target(members):
    """"offer" or "claim", whichever `members` holds; ValueError unless exactly one."""
    targets = [name for name in ("offer", "claim") if name in members]
    if len(targets) != 1:
        raise ValueError("it names %s: a scan names exactly one of offer and claim"
                         % (" and ".join(targets) if targets else "neither offer nor claim"))
    return targets[0]


def exact_members(members, expected):
    if set(members) != expected:
        missing, extra = sorted(expected - set(members)), sorted(set(members) - expected)
        raise ValueError("%s%s%s" % ("missing " + ", ".join(missing) if missing else "",
                                     "; " if missing and extra else "",
                                     "unexpected " + ", ".join(shown(name) for name in extra) if extra else ""))


def scan_canonical_bytes(document):
    """The canonical bytes (RFC 8785) of a scan document, after checking it has exactly the
    members of §7.14, each an integer or a string of printable ASCII in its domain. Raises
    ValueError naming what is wrong."""
    if not isinstance(document, dict):
        raise ValueError("the scan document is not a JSON object")
    target = scan_target(document)
    exact_members(document, {"v", "device", target, "score", "model", "modelVersion", "imageSha256", "scannedAt"})
    for name in sorted(document):
        value = document[name]
        if name in SCAN_INTEGERS:
            if type(value) is not int:
                raise ValueError("%s is not an integer" % name)
        elif type(value) is not str or not all(" " <= ch <= "~" for ch in value):
            raise ValueError("%s is not a string of printable ASCII" % name)
        elif not SCAN_GRAMMAR[name][0].fullmatch(value):
            raise ValueError("%s is not %s" % (name, SCAN_GRAMMAR[name][1]))
    if document["v"] != 1:
        raise ValueError("v is %d, not 1" % document["v"])
    if not 0 <= document["score"] <= 100:
        raise ValueError("score %d is outside 0..100" % document["score"])
    if not 0 <= document["scannedAt"] <= INTEGER_MAX:
        raise ValueError("scannedAt is not µs since the epoch (0..2^53-1)")
    return canonical(document).encode("ascii")


def b64_exactly(text, count, refusal):
    """The bytes of canonical base64 `text`, which must be `count` bytes; else ValueError(refusal)."""
    try:
        raw = b64(text) if type(text) is str else b""
    except ValueError:
        raw = b""
    if len(raw) != count:
        raise ValueError(refusal)
    return raw


def scan_signature(text):
    """The base64 `signature` of a scan: 64 bytes, canonical base64."""
    return b64_exactly(text, 64, "signature is not the base64 of 64 bytes")


def device_public_key(text):
    """A device's public key: base64 (canonical) of 32 bytes. Returns the bytes."""
    return b64_exactly(text, 32, "the key is not the base64 of a 32-byte Ed25519 public key")


def scan_verifies(public_key, canonical_bytes, signature):
    try:
        VerifyKey(public_key).verify(SCAN_CONTEXT + canonical_bytes, signature)
        return True
    except BadSignatureError:
        return False


def scan_from_payload(payload):
    """A scan.attested payload: (the document's canonical bytes, the document, stage, signature,
    the scan id the entry states). Raises ValueError when it is malformed."""
    if not isinstance(payload, dict):
        raise ValueError("the payload is not a JSON object")
    target = scan_target(payload)
    exact_members(payload, {"scan", "device", target, "stage", "score", "model", "modelVersion", "imageSha256",
                            "scannedAt", "signature"})
    if type(payload["scan"]) is not str or type(payload["stage"]) is not str:
        raise ValueError("scan or stage is not a string")
    document = {name: value for name, value in payload.items() if name not in ("scan", "stage", "signature")}
    document["v"] = 1
    return (scan_canonical_bytes(document), document, payload["stage"], scan_signature(payload["signature"]),
            payload["scan"])


def check_scans(bodies, devices=None):
    """Every scan.attested among `bodies` (decoded, in seq order), against the key of its device
    from a device.registered among them or else from `devices` (id -> 32 key bytes, --devices):
    its document rebuilt and its id recomputed, its signature, its score and stage, no scan twice,
    none at or after its device's device.revoked. Returns (failures, signatures verified, [notes on
    scans whose device key is unknown: not checked, not failed])."""
    failures, notes, checked = [], [], 0
    fail = failures.append
    devices = devices or {}
    registered, revoked, owners, attested = {}, {}, {}, {}
    for body in bodies:
        kind, payload, seq = body["kind"], body["payload"], body["seq"]
        if kind == "device.registered":
            try:
                if not isinstance(payload, dict) or type(payload.get("device")) is not str:
                    raise ValueError("no device id")
                device, public = payload["device"], device_public_key(payload.get("publicKey"))
            except ValueError as error:
                fail("seq %d: device.registered: malformed (%s)" % (seq, error))
                continue
            if device in registered:
                fail("seq %d: device.registered: device %s was already registered at seq %d"
                     % (seq, shown(device), registered[device][0]))
                continue
            if public in owners:
                fail("seq %d: device.registered: its public key already belongs to device %s (seq %d)"
                     % (seq, shown(owners[public][0]), owners[public][1]))
            owners[public] = (device, seq)
            registered[device] = (seq, public)
            if device in devices and devices[device] != public:
                fail("seq %d: device.registered: device %s's key is not the one --devices gives" % (seq, shown(device)))
        elif kind == "device.revoked":
            if not isinstance(payload, dict) or type(payload.get("device")) is not str:
                fail("seq %d: device.revoked: malformed (no device id)" % seq)
                continue
            revoked.setdefault(payload["device"], seq)
    for body in bodies:
        if body["kind"] != "scan.attested":
            continue
        seq = body["seq"]
        label = "seq %d: scan.attested" % seq
        try:
            raw, document, stage, signature, stated = scan_from_payload(body["payload"])
        except ValueError as error:
            fail("%s: malformed (%s)" % (label, error))
            continue
        device = document["device"]
        scan_id = hashlib.sha256(raw).hexdigest()
        if stated != scan_id:
            fail("%s: scan is %s, but the SHA-256 of the document's canonical bytes is %s"
                 % (label, shown(stated), scan_id))
        if scan_id in attested:
            fail("%s: scan %s was already attested at seq %d (a replay)" % (label, scan_id, attested[scan_id]))
        else:
            attested[scan_id] = seq
        if stage not in SCAN_STAGES:
            fail("%s: stage %s is not offer, pickup or delivery" % (label, ascii(stage)))
        elif "offer" in document and stage != "offer":
            fail("%s: an offer scan has stage %s, not offer" % (label, stage))
        elif "claim" in document and stage == "offer":
            fail("%s: a claim scan has stage offer, not pickup or delivery" % label)
        if device in revoked and seq >= revoked[device]:
            fail("%s: device %s was revoked at seq %d: no scan of it counts from then on, whatever its scannedAt"
                 % (label, device, revoked[device]))
        if device in registered:
            registered_at, public = registered[device]
            source = "registered at seq %d" % registered_at
            if seq < registered_at:
                fail("%s: device %s is registered only later, at seq %d" % (label, device, registered_at))
        elif device in devices:
            public, source = devices[device], "given with --devices"
        else:
            notes.append("seq %d: scan %s of device %s not checked (device key unknown): no device.registered for it "
                         "in the bundle and no --devices key" % (seq, scan_id, device))
            continue
        if scan_verifies(public, raw, signature):
            checked += 1
        else:
            fail("%s: the signature does not verify under device %s's key (%s): the document was altered, "
                 "re-targeted or signed by another key" % (label, device, source))
    return failures, checked, notes


def read_devices(path):
    """A devices file (--devices): a JSON object, device id -> base64 32-byte Ed25519 public key.
    Returns {id: key bytes}; ValueError names what is wrong."""
    with open(path, "rb") as f:
        document = json.loads(f.read().decode("utf-8"), object_pairs_hook=_pairs,
                              parse_float=_reject_float, parse_constant=_reject_constant)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object (device id -> base64 public key)")
    devices = {}
    for device, text in document.items():
        try:
            devices[device] = device_public_key(text)
        except ValueError as error:
            raise ValueError("device %s: %s" % (shown(device), error))
    return devices


def verify_scan_file(answer, public_key):
    """One scan, {"document": {...}, "signature": "<base64>"}, against a device's public key
    (32 bytes). Returns ([failures], the scan id)."""
    if not isinstance(answer, dict):
        return ["not a JSON object {document, signature}"], None
    try:
        exact_members(answer, {"document", "signature"})
        raw = scan_canonical_bytes(answer["document"])
        signature = scan_signature(answer["signature"])
    except ValueError as error:
        return ["malformed scan (%s)" % error], None
    scan_id = hashlib.sha256(raw).hexdigest()
    if not scan_verifies(public_key, raw, signature):
        return ["scan %s: the signature does not verify under this device key: the document was altered, "
                "re-targeted or signed by another key" % scan_id], scan_id
    return [], scan_id


# --- one entry as the API answers it (GET /v1/entries/{seq}) ------------------------------------

def verify_api_entry(answer, chain):
    """The answer carries the exact body (text), its signature (base64), the signed checkpoint
    note it is proved against and the inclusion proof (hex hashes)."""
    failures = []
    fail = failures.append
    checkpoint = answer["checkpoint"]
    try:
        name, key_id, verify_key = chain.checkpoint_key(unverified_checkpoint(checkpoint["note"])[1], witnessed=False)
        origin, size, root = parse_checkpoint(open_note(checkpoint["note"], name, key_id, verify_key))
    except (ValueError, KeyError, BadSignatureError) as error:
        return ["checkpoint: " + (str(error) or "signature does not verify") + rotation_hint(chain)]
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
    name, key_id, verify_key = chain.key_for_seq(seq)
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


def verify_certificate(report, chain):
    """The certificate is a signed note under the ledger's key (the one that signs the
    checkpoint its `checkpoint` line names); its lines must say what the report's line says,
    and its checkpoint line must be the report's checkpoint."""
    note = report["sections"]["note"]
    try:
        unsigned, _ = split_signed_note(note)
        sizes = [line.split(" ")[1] for line in unsigned.split("\n") if line.startswith("checkpoint ")]
        if len(sizes) != 1 or not re.fullmatch(r"0|[1-9][0-9]{0,15}", sizes[0]):
            raise ValueError("the note has no single `checkpoint <size> <root>` line")
        name, key_id, verify_key = chain.checkpoint_key(int(sizes[0]), witnessed=False)
        text = open_note(note, name, key_id, verify_key)
    except (ValueError, BadSignatureError) as error:
        return ["note: " + (str(error) or "signature does not verify") + rotation_hint(chain)]
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


# --- witnesses, cosigned checkpoints, offline proofs and consistency (FORMAT.md §10) ------------

COSIGNATURE_CONTEXT = b"cosignature/v1\n"
CLOCK_LEEWAY_SECONDS = 600          # cosignatures dated further in the future are refused
TIMESTAMP_MAX = 2**63 - 1
NOTE_SIGNATURES_MAX = 100           # C2SP signed-note: verifiers MUST accept at least 16
PROOF_HASHES_MAX = 63
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
EMPTY_TREE_ROOT = hashlib.sha256(b"").digest()


def split_signed_note(note):
    """C2SP signed-note, read strictly: (text, [(signer name, signature bytes)]). The text ends
    in a newline and is separated from the signature lines by the last empty line; every line
    after it is `— <name> <base64>` and the note ends with a newline."""
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note):
        raise ValueError("a control character other than newline")
    if not note.endswith("\n"):
        raise ValueError("it does not end with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise ValueError("no empty line between the text and the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise ValueError("nothing after the last empty line (a trailing empty line?)")
    lines = block[:-1].split("\n")
    if len(lines) > NOTE_SIGNATURES_MAX:
        raise ValueError("more than %d signature lines" % NOTE_SIGNATURES_MAX)
    signatures = []
    for number, line in enumerate(lines, 1):
        fields = line[2:].split(" ") if line.startswith("\u2014 ") else []
        if len(fields) != 2 or not fields[0] or "+" in fields[0] or any(ch.isspace() for ch in fields[0]):
            raise ValueError("signature line %d is not '\u2014 <name> <base64>' (trailing garbage?): %r"
                             % (number, line[:80]))
        try:
            signature = b64(fields[1])
        except ValueError:
            raise ValueError("signature line %d is not canonical base64" % number)
        if len(signature) < 5:
            raise ValueError("signature line %d is too short" % number)
        signatures.append((fields[0], signature))
    return text, signatures


def cosignature_problem(verify_key, signature, text, now):
    """None when `signature` (key id ‖ u64 time ‖ Ed25519) is a valid tlog-cosignature v1 over the
    checkpoint text, else what is wrong with it."""
    if len(signature) != 4 + 8 + 64:
        return "it is %d bytes, not 76" % len(signature)
    timestamp = int.from_bytes(signature[4:12], "big")
    if timestamp > TIMESTAMP_MAX:
        return "its timestamp %d is above 2^63-1" % timestamp
    if timestamp > now + CLOCK_LEEWAY_SECONDS:
        return "its timestamp %d is %d s in the future (more than %d s)" % (
            timestamp, timestamp - int(now), CLOCK_LEEWAY_SECONDS)
    message = COSIGNATURE_CONTEXT + b"time %d\n" % timestamp + text.encode("utf-8")
    try:
        verify_key.verify(message, signature[12:])
    except BadSignatureError:
        return "it does not verify"
    return None


def verify_cosigned_checkpoint(note, log_key, witnesses, quorum, now, label="checkpoint"):
    """Checks a checkpoint note against a policy: our signature (log_key = name, key id,
    VerifyKey), the origin, and at least `quorum` distinct trusted witnesses' cosignatures.
    Signature lines by keys in neither are ignored (C2SP signed-note); a line by a trusted key
    that does not verify is a failure. Returns ((origin, size, root) or None, the number of
    distinct witnesses whose cosignature verifies, [failures])."""
    failures = []
    fail = failures.append
    try:
        text, signatures = split_signed_note(note)
    except ValueError as error:
        return None, 0, ["%s: malformed signed note: %s" % (label, error)]
    try:
        checkpoint = parse_checkpoint(text)
        name, key_id, verify_key = (log_key.checkpoint_key(checkpoint[1], witnessed=quorum > 0)
                                    if isinstance(log_key, KeyChain) else log_key)
    except ValueError as error:
        return None, 0, ["%s: %s" % (label, error)]
    origin = checkpoint[0]
    ours = [sig for signer, sig in signatures if signer == name and sig[:4] == key_id]
    if not ours:
        hint = rotation_hint(log_key) if isinstance(log_key, KeyChain) else ""
        fail("%s signature: no signature by %s (key id %s)%s" % (label, name, key_id.hex(), hint))
    for sig in ours:
        try:
            if len(sig) != 4 + 64:
                raise BadSignatureError()
            verify_key.verify(text.encode("utf-8"), sig[4:])
        except BadSignatureError:
            fail("%s signature: the signature by %s does not verify" % (label, name))
    if origin != name:
        fail("%s: origin %s is not the key name %s" % (label, origin, name))
    cosigned = set()
    for signer, sig in signatures:
        for number, (w_name, w_key_id, w_verify_key, _) in enumerate(witnesses):
            if signer == w_name and sig[:4] == w_key_id:
                problem = cosignature_problem(w_verify_key, sig, text, now)
                if problem:
                    fail("%s cosignature by %s: %s" % (label, w_name, problem))
                else:
                    cosigned.add(number)  # a witness counts once, however many lines it has
    if len(cosigned) < quorum:
        fail("%s quorum: %d of %d trusted witnesses cosigned it, the quorum is %d"
             % (label, len(cosigned), len(witnesses), quorum))
    return checkpoint, len(cosigned), failures


def inclusion_proof_length(index, size):
    """The number of hashes RFC 9162 §2.1.3 needs for leaf `index` in a tree of `size` leaves."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


def parse_tlog_proof(data):
    """C2SP tlog-proof v1 as FORMAT.md §10.5 profiles it (extra is required). Returns
    (extra bytes, index, [proof hashes], the checkpoint note text)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8")
    position = 0

    def line(what):
        nonlocal position
        end = text.find("\n", position)
        if end < 0:
            raise ValueError("the file ends before %s" % what)
        found, position = text[position:end], end + 1
        if any(ord(ch) < 0x20 for ch in found):
            raise ValueError("a control character in %s" % what)
        return found

    if line("the first line") != TLOG_PROOF_HEADER:
        raise ValueError("the first line is not %s" % TLOG_PROOF_HEADER)
    extra = line("the extra line")
    if not extra.startswith("extra "):
        raise ValueError("no 'extra' line: it must carry the entry's signature and body")
    try:
        extra = b64(extra[len("extra "):])
    except ValueError:
        raise ValueError("extra is not canonical base64")
    index = line("the index line")
    if not re.fullmatch(r"index (0|[1-9][0-9]{0,18})", index):
        raise ValueError("the third line is not 'index <n>' in decimal without leading zeros")
    index = int(index[len("index "):])
    if index > TIMESTAMP_MAX:
        raise ValueError("index above 2^63-1")
    proof = []
    while True:
        hash_line = line("the empty line before the checkpoint")
        if hash_line == "":
            break
        if len(proof) == PROOF_HASHES_MAX:
            raise ValueError("more than %d proof lines" % PROOF_HASHES_MAX)
        try:
            digest = b64(hash_line)
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise ValueError("proof line %d is not a canonical base64 SHA-256 hash "
                             "(or the empty line before the checkpoint is missing)" % (len(proof) + 1))
        proof.append(digest)
    return extra, index, proof, text[position:]


def verify_tlog_proof(data, chain, witnesses, quorum, now):
    """An offline proof of one entry (FORMAT.md §10.5), with the keys `chain` proves. Returns
    ([failures], a description of what verified)."""
    failures = []
    fail = failures.append
    try:
        extra, index, proof, note = parse_tlog_proof(data)
    except ValueError as error:
        return ["format: %s" % error], None
    if len(extra) <= 64:
        return ["format: extra holds %d bytes, not a 64-byte signature and a body" % len(extra)], None
    signature, raw = extra[:64], extra[64:]
    leaf = leaf_hash(raw)
    try:
        body = decode_body(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        fail("body: %s" % error)
        body = None
    name, key_id, verify_key = chain.key_for_seq(index)
    if body is not None:
        seq = body["seq"]
        if type(seq) is not int or seq < 0:
            fail("body: seq is not a non-negative integer")
        elif seq != index:
            fail("index: the proof says index %d, the body says seq %d" % (index, seq))
        if body["key"] != key_id.hex():
            fail("body: signed by key %s, not %s" % (body["key"], key_id.hex()))
        if seq == 0 and body["prev"] != "0" * 64:
            fail("body: seq 0 but prev is not all zeros")
    try:
        verify_key.verify(ENTRY_CONTEXT + leaf, signature)
    except BadSignatureError:
        fail("entry signature: it does not verify with %s" % name)
    checkpoint, cosigned, problems = verify_cosigned_checkpoint(note, chain, witnesses, quorum, now)
    if checkpoint is not None:
        _, size, root = checkpoint
        if index >= size:
            fail("inclusion proof: index %d is not below the tree size %d" % (index, size))
        elif len(proof) != inclusion_proof_length(index, size):
            fail("inclusion proof: %d hashes, but index %d in a tree of size %d needs %d"
                 % (len(proof), index, size, inclusion_proof_length(index, size)))
        elif not verify_inclusion(leaf, index, size, proof, root):
            fail("inclusion proof: it does not lead from the entry's leaf hash to the checkpoint root")
    failures += problems
    if failures:
        return failures, None
    signer = "%s+%s" % (chain.origin, chain.key_for_seq(checkpoint[1])[1].hex())
    return [], "seq %d is in the tree of size %d signed by %s and cosigned by %d of %d witnesses (quorum %d)" % (
        index, checkpoint[1], signer, cosigned, len(witnesses), quorum)


def consistency_proof_length(size1, size2):
    """The number of hashes RFC 9162 §2.1.4 needs between trees of 0 < size1 < size2 leaves:
    the path from the last old leaf's subtree of 2^k leaves (k = trailing zero bits of size1),
    plus that subtree's root unless it is the whole old tree."""
    shift = (size1 & -size1).bit_length() - 1
    index = size1 - 1
    inner = (index ^ (size2 - 1)).bit_length()
    border = bin(index >> inner).count("1")
    return (0 if size1 == 1 << shift else 1) + inner - shift + border


def verify_consistency(size1, size2, proof, root1, root2):
    """RFC 9162 §2.1.4.2, with the exact proof length checked. Returns None or the problem."""
    if size1 > size2:
        return "the old size %d is larger than the new size %d" % (size1, size2)
    if size1 == size2:
        if proof:
            return "equal sizes need an empty proof, not %d hashes" % len(proof)
        return None if root1 == root2 else "equal sizes %d but different roots (a fork)" % size1
    if size1 == 0:
        return None if not proof else "from the empty tree the proof must be empty, not %d hashes" % len(proof)
    want = consistency_proof_length(size1, size2)
    if len(proof) != want:
        return "%d hashes, but sizes %d and %d need %d" % (len(proof), size1, size2, want)
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return "the proof is longer than the tree is high"
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return "the proof is shorter than the tree is high"
    if fr != root1:
        return "it does not lead to the old checkpoint's root"
    if sr != root2:
        return "it does not lead to the new checkpoint's root"
    return None


def json_hash(value, what):
    """A 32-byte hash in a JSON answer: canonical base64 (FORMAT.md §2), or 64 lowercase hex
    digits (what GET /v1/proofs/consistency has answered)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value):
        return bytes.fromhex(value)
    try:
        raw = b64(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError("%s is not a base64 (or hex) SHA-256 hash" % what)
    return raw


def parse_consistency_answer(answer):
    """The API's {from, to, fromRoot, toRoot, proof}; `pahlawan proof consistency`'s
    {size1, size2, root1, root2, proof} is read the same way."""
    if not isinstance(answer, dict):
        raise ValueError("not a JSON object")
    names = ("from", "to", "fromRoot", "toRoot") if "from" in answer else ("size1", "size2", "root1", "root2")
    for name in names + ("proof",):
        if name not in answer:
            raise ValueError("no %r member" % name)
    sizes = [answer[names[0]], answer[names[1]]]
    for name, size in zip(names, sizes):
        if type(size) is not int or not 0 <= size <= TIMESTAMP_MAX:
            raise ValueError("%s is not a tree size" % name)
    roots = [json_hash(answer[names[2]], names[2]), json_hash(answer[names[3]], names[3])]
    if not isinstance(answer["proof"], list):
        raise ValueError("proof is not a list")
    if len(answer["proof"]) > 2 * PROOF_HASHES_MAX:
        raise ValueError("more than %d proof hashes" % (2 * PROOF_HASHES_MAX))
    proof = [json_hash(h, "proof hash %d" % n) for n, h in enumerate(answer["proof"], 1)]
    return sizes[0], sizes[1], roots[0], roots[1], proof, names


def verify_consistency_answer(answer, old_note, new_note, chain, witnesses, quorum, now):
    """A consistency proof between two signed checkpoints we hold: the roots come from the
    signed notes, never from the answer; each note is checked with the key `chain` names for
    its size. Returns ([failures], a description)."""
    failures = []
    fail = failures.append
    log_key = chain
    name = chain.origin
    try:
        size1, size2, root1, root2, proof, names = parse_consistency_answer(answer)
    except ValueError as error:
        return ["proof: malformed answer (%s)" % error], None
    old, old_cosigned, problems = verify_cosigned_checkpoint(old_note, log_key, witnesses, quorum, now, "old checkpoint")
    failures += problems
    new, new_cosigned, problems = verify_cosigned_checkpoint(new_note, log_key, witnesses, quorum, now, "new checkpoint")
    failures += problems
    for label, checkpoint, size, root, size_name, root_name in (
            ("old", old, size1, root1, names[0], names[2]), ("new", new, size2, root2, names[1], names[3])):
        if checkpoint is None:
            continue
        if checkpoint[1] != size:
            fail("%s checkpoint: its size is %d, the proof's %s is %d" % (label, checkpoint[1], size_name, size))
        elif checkpoint[2] != root:
            fail("%s checkpoint: its root differs from the answer's %s" % (label, root_name))
        if checkpoint[1] == 0 and checkpoint[2] != EMPTY_TREE_ROOT:
            fail("%s checkpoint: size 0 but the root is not SHA-256 of nothing" % label)
    if old is not None and new is not None:
        problem = verify_consistency(old[1], new[1], proof, old[2], new[2])
        if problem:
            fail("consistency proof: %s" % problem)
    if failures:
        return failures, None
    return [], "the tree of size %d extends the tree of size %d, both signed by %s and cosigned by %d and %d of %d witnesses (quorum %d)" % (
        new[1], old[1], name, new_cosigned, old_cosigned, len(witnesses), quorum)


class Usage(Exception):
    pass


def read_key_argument(value):
    if os.path.isfile(value):
        with open(value) as f:
            return f.read().strip()
    return value


def take_options(args, single, repeated):
    """Flags with one value each: `single` ones at most once, `repeated` ones any number of times.
    Anything else is a usage error."""
    values = {flag: None for flag in single}
    values.update({flag: [] for flag in repeated})
    i = 0
    while i < len(args):
        flag = args[i]
        if flag not in values:
            raise Usage("unexpected argument %r" % flag)
        if i + 1 >= len(args):
            raise Usage("%s needs a value" % flag)
        if flag in repeated:
            values[flag].append(args[i + 1])
        elif values[flag] is not None:
            raise Usage("%s given twice" % flag)
        else:
            values[flag] = args[i + 1]
        i += 2
    return values


def witness_policy(values):
    """The trusted witnesses (--witness, repeatable) and the quorum (--quorum, default all)."""
    witnesses = []
    for text in values["--witness"]:
        try:
            witness = parse_witness_key(read_key_argument(text))
        except ValueError as error:
            raise Usage("--witness %s: %s" % (text, error))
        for other in witnesses:
            if (other[0], other[1]) == (witness[0], witness[1]) or other[3] == witness[3]:
                # tlog-cosignature v1 does not sign the witness's name: one public key under two
                # names would let one cosignature count twice.
                raise Usage("--witness %s: the same witness (or public key) is given twice" % text)
        witnesses.append(witness)
    quorum = values["--quorum"]
    if quorum is None:
        quorum = len(witnesses)
    else:
        if not re.fullmatch(r"0|[1-9][0-9]{0,5}", quorum):
            raise Usage("--quorum must be a whole number")
        quorum = int(quorum)
        if quorum > len(witnesses):
            raise Usage("--quorum %d is more than the %d --witness keys given" % (quorum, len(witnesses)))
    return witnesses, quorum


def load_chain(keys_path, key, witnesses, quorum, now):
    """The key chain from `key` (the initial key you trust): through the keys document at
    `keys_path` when one is given. Returns (KeyChain, [failures])."""
    if keys_path is None:
        return KeyChain(key), []
    try:
        with open(keys_path, "rb") as f:
            document = json.loads(f.read().decode("utf-8"), object_pairs_hook=_pairs,
                                  parse_float=_reject_float, parse_constant=_reject_constant)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        return KeyChain(key), ["keys document %s: cannot read it: %s" % (keys_path, error)]
    return verify_keys_document(document, key, witnesses, quorum, now)


def report(path, failures, description):
    for failure in failures:
        print("FAIL %s: %s" % (path, failure))
    if failures:
        return 1
    print("OK %s: %s" % (path, description))
    return 0


def policy_options(args, needed, single, usage):
    """Reads the options of a mode checked against a policy (the initial key, witnesses, a
    quorum): `needed` flags must be given. Returns (values, key text, witnesses, quorum); a
    mistake exits with `usage`."""
    try:
        values = take_options(args, single + ("--key", "--quorum"), ("--witness",))
        if any(values[flag] is None for flag in needed + ("--key",)):
            raise Usage("%s and --key are needed" % " and ".join(needed))
        key = read_key_argument(values["--key"])
        parse_verifier_key(key)
        witnesses, quorum = witness_policy(values)
    except (Usage, ValueError) as error:
        sys.exit("%s\n%s" % (error, usage))
    return values, key, witnesses, quorum


def main_proof(args):
    """verify.py --proof FILE.tlog-proof --key VKEY [--keys KEYS.json] [--witness WKEY ...] [--quorum Q]"""
    usage = "usage: verify.py --proof FILE.tlog-proof --key VKEY [--keys KEYS.json] [--witness WKEY ...] [--quorum Q]"
    values, key, witnesses, quorum = policy_options(args, ("--proof",), ("--proof", "--keys"), usage)
    path = values["--proof"]
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        return report(path, ["cannot read the proof: %s" % error], None)
    chain, failures = load_chain(values["--keys"], key, witnesses, quorum, time.time())
    if failures:
        return report(path, failures, None)
    failures, description = verify_tlog_proof(data, chain, witnesses, quorum, time.time())
    return report(path, failures, description)


def main_consistency(args):
    """verify.py --consistency PROOF.json --old OLD --new NEW --key VKEY [--keys KEYS.json] [--witness WKEY ...] [--quorum Q]"""
    usage = ("usage: verify.py --consistency PROOF.json --old OLD_NOTE --new NEW_NOTE --key VKEY "
             "[--keys KEYS.json] [--witness WKEY ...] [--quorum Q]")
    values, key, witnesses, quorum = policy_options(
        args, ("--consistency", "--old", "--new"), ("--consistency", "--old", "--new", "--keys"), usage)
    path = values["--consistency"]
    try:
        with open(path, "rb") as f:
            answer = json.loads(f.read().decode("utf-8"), object_pairs_hook=_pairs,
                                parse_float=_reject_float, parse_constant=_reject_constant)
        notes = []
        for flag in ("--old", "--new"):
            with open(values[flag], "rb") as f:
                notes.append(f.read().decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as error:
        return report(path, ["cannot read the proof or a checkpoint: %s" % error], None)
    chain, failures = load_chain(values["--keys"], key, witnesses, quorum, time.time())
    if failures:
        return report(path, failures, None)
    failures, description = verify_consistency_answer(answer, notes[0], notes[1], chain, witnesses, quorum, time.time())
    return report(path, failures, description)


def main(argv):
    args = argv[1:]
    if "-h" in args or "--help" in args:
        print(__doc__)
        return 0
    if "--proof" in args:
        return main_proof(args)
    if "--consistency" in args:
        return main_consistency(args)
    if "--entry" in args:
        return main_entry(args)
    if "--certificate" in args:
        return main_certificate(args)
    if "--scan" in args:
        return main_scan(args)
    # Every option takes a value, so a bundle is an argument that is neither a flag nor its value.
    positional = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or not args[i - 1].startswith("--"))]
    if "--keys" in args and not positional:
        return main_keys(args)
    usage = "usage: verify.py BUNDLE [--key VKEY [--keys KEYS.json]] [--devices DEVICES.json]"
    key, keys_path, devices_path = None, None, None
    for flag in ("--key", "--keys", "--devices"):
        if flag in args:
            i = args.index(flag)
            if i + 1 >= len(args):
                sys.exit(usage)
            value = args[i + 1]
            del args[i : i + 2]
            if flag == "--key":
                key = read_key_argument(value)
            elif flag == "--keys":
                keys_path = value
            else:
                devices_path = value
    if len(args) != 1 or (keys_path is not None and key is None):
        sys.exit(usage)
    path = args[0]
    try:
        with open(path, "rb") as f:
            bundle = json.load(f)
        if not isinstance(bundle, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as error:
        print("FAIL %s: cannot read the bundle: %s" % (path, error))
        return 1
    if key is None:
        print("warning: no --key given; trusting the bundle's own verifier_key", file=sys.stderr)
    known = None
    if keys_path is not None:
        known, failures = load_chain(keys_path, key, [], 0, time.time())
        if failures:
            return report(path, failures, None)
    devices = None
    if devices_path is not None:
        try:
            devices = read_devices(devices_path)
        except (OSError, ValueError, UnicodeDecodeError, RecursionError) as error:
            return report(path, ["devices file %s: %s" % (devices_path, error)], None)
    try:
        failures = verify_bundle(bundle, key, known, devices)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        failures = ["bundle: malformed (%s)" % error]
    unchecked = bundle.get("_scans_unchecked", [])
    for note in unchecked:
        print("warning: %s: %s" % (path, note), file=sys.stderr)
    for failure in failures:
        print("FAIL %s: %s" % (path, failure))
    if failures:
        return 1
    sales, scans = bundle.get("_auction_sales_checked", 0), bundle.get("_scans_checked", 0)
    print("OK %s: %d entries verified" % (path, len(bundle["entries"]))
          + ("; %d auction sale prices recomputed from their curves" % sales if sales else "")
          + ("; %d scan signatures verified with their devices' keys" % scans if scans else "")
          + ("; %d scans not checked (device key unknown: pass --devices)" % len(unchecked) if unchecked else ""))
    return 0


def main_keys(args):
    """verify.py --keys KEYS.json --key VKEY [--witness WKEY ...] [--quorum Q]: the keys document alone."""
    usage = "usage: verify.py --keys KEYS.json --key VKEY [--witness WKEY ...] [--quorum Q]"
    values, key, witnesses, quorum = policy_options(args, ("--keys",), ("--keys",), usage)
    chain, failures = load_chain(values["--keys"], key, witnesses, quorum, time.time())
    lines = []
    for first, (name, key_id, _), public, retired, untrusted in chain.links:
        line = "%s+%s signs from seq %d" % (name, key_id.hex(), first)
        if retired is not None:
            line += " to %d" % retired
        if untrusted is not None:
            line += " (reported compromised from seq %d)" % untrusted
        lines.append(line)
    return report(values["--keys"], failures, "%d keys: %s" % (len(lines), "; ".join(lines)))


def main_with_key(args, flag, verify, describe):
    """verify.py FLAG FILE --key VKEY [--keys KEYS.json]: one JSON answer checked by `verify`
    against the key you trust (and the keys the keys document proves from it); `describe`
    words the success."""
    usage = "usage: verify.py %s FILE.json --key VKEY [--keys KEYS.json]" % flag
    try:
        values = take_options(args, (flag, "--key", "--keys"), ())
        path, key = values[flag], read_key_argument(values["--key"] or "")
        parse_verifier_key(key)
    except (Usage, ValueError) as error:
        sys.exit("%s\n%s" % (error, usage))
    chain, failures = load_chain(values["--keys"], key, [], 0, time.time())
    if failures:
        return report(path, failures, None)
    try:
        with open(path, "rb") as f:
            answer = json.load(f)
        failures = verify(answer, chain)
    except (OSError, ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError) as error:
        failures = ["malformed answer (%s)" % error]
    for failure in failures:
        print("FAIL %s: %s" % (path, failure))
    if failures:
        return 1
    print("OK %s: %s" % (path, describe(answer)))
    return 0


def main_scan(args):
    """verify.py --scan SCAN.json --key DEVICEKEY: one device-signed scan (FORMAT.md §7.14)."""
    usage = "usage: verify.py --scan SCAN.json --key DEVICEKEY   (DEVICEKEY: base64 of the device's 32-byte public key)"
    try:
        values = take_options(args, ("--scan", "--key"), ())
        if values["--scan"] is None or values["--key"] is None:
            raise Usage("--scan and --key are needed")
        path = values["--scan"]
        public_key = device_public_key(read_key_argument(values["--key"]))
    except (Usage, ValueError) as error:
        sys.exit("%s\n%s" % (error, usage))
    try:
        with open(path, "rb") as f:
            answer = json.loads(f.read().decode("utf-8"), object_pairs_hook=_pairs,
                                parse_float=_reject_float, parse_constant=_reject_constant)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as error:
        return report(path, ["cannot read the scan: %s" % error], None)
    failures, scan_id = verify_scan_file(answer, public_key)
    if failures:
        return report(path, failures, None)
    return report(path, [], "scan %s by device %s verifies" % (scan_id, answer["document"]["device"]))


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
