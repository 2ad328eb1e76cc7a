// Pahlawan Trust console: the reader's browser checks what the page shows (audit/CONSOLE.md,
// "Verification in the browser"). Every rule is ledger/FORMAT.md's: §2 (leaf hash, entry
// signature, RFC 9162 inclusion), §3 (keys), §4 (checkpoint note), §10.1 (cosignatures).
// WebCrypto only (SHA-256, Ed25519); nothing is loaded from anywhere but this service.
"use strict";
(function () {
  const utf8 = new TextEncoder();
  const entryContext = utf8.encode("pahlawan-entry/v1\u0000");

  class CheckFailed extends Error {}
  function fail(message) { throw new CheckFailed(message); }

  function fromBase64(text, what) {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) fail(what + " is not base64");
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }
  function fromHex(text, what) {
    if (typeof text !== "string" || !/^(?:[0-9a-f]{2})*$/.test(text)) fail(what + " is not lowercase hex");
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }
  function toHex(bytes) { return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""); }
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) { out.set(part, at); at += part.length; }
    return out;
  }
  function equal(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }
  async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }
  function decimal(text, what) {
    if (typeof text !== "string" || !/^(?:0|[1-9][0-9]{0,18})$/.test(text)) fail(what + " is not a decimal number");
    return BigInt(text);
  }

  // FORMAT §3 and §10.1: "<name>+<8 hex key id>+<base64(type ‖ 32-byte key)>", the id being the
  // first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ key).
  async function verifierKey(text, type, what) {
    // The name holds no "+", the base64 key may: split at the first two only.
    const first = typeof text === "string" ? text.indexOf("+") : -1;
    const second = first > 0 ? text.indexOf("+", first + 1) : -1;
    if (second < 0) fail(what + " is not a verifier key");
    const [name, idText, keyText] = [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
    const id = fromHex(idText, what + " id");
    const raw = fromBase64(keyText, what);
    if (id.length !== 4 || raw.length !== 33 || raw[0] !== type) fail(what + " is not an Ed25519 key of type " + type);
    const digest = await sha256(concat(utf8.encode(name), new Uint8Array([0x0a]), raw));
    if (!equal(digest.slice(0, 4), id)) fail(what + ": its key id does not match the key");
    const key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
    return { name, id, key, text };
  }

  function ed25519(key, signature, message) { return crypto.subtle.verify({ name: "Ed25519" }, key.key, signature, message); }

  // FORMAT §4: the signed text (ending in "\n"), a blank line, then "— <name> <base64>" lines.
  function parseNote(note) {
    if (typeof note !== "string") fail("the checkpoint note is missing");
    const cut = note.indexOf("\n\n");
    if (cut < 0) fail("the checkpoint note has no signature block");
    const text = note.slice(0, cut + 1);
    const signatures = note.slice(cut + 2).split("\n").filter((line) => line !== "").map((line) => {
      const match = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!match) fail("a signature line of the note is malformed");
      return { name: match[1], bytes: fromBase64(match[2], "a note signature") };
    });
    const lines = text.split("\n");
    if (lines.length !== 4 || lines[3] !== "") fail("the checkpoint text is not three lines");
    const root = fromBase64(lines[2], "the checkpoint root");
    if (root.length !== 32) fail("the checkpoint root is not 32 bytes");
    return { text, bytes: utf8.encode(text), origin: lines[0], size: decimal(lines[1], "the checkpoint size"), root, signatures };
  }

  // RFC 9162 §2.1.3.2, with the proof length checked against (index, size).
  async function rootFromInclusion(index, size, leaf, proof) {
    if (index >= size) fail("seq " + index + " is not below the checkpoint's size " + size);
    let fn = index, sn = size - 1n, r = leaf;
    const node = (left, right) => sha256(concat(new Uint8Array([1]), left, right));
    for (const p of proof) {
      if (sn === 0n) fail("the inclusion proof is too long");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await node(p, r);
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await node(r, p);
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) fail("the inclusion proof is too short");
    return r;
  }

  // FORMAT §4 and §10.1: the log's signature over the text, then at least `quorum` distinct
  // trusted witnesses' cosignatures over "cosignature/v1\ntime T\n" ‖ text.
  async function checkCheckpoint(note, evidence, checks, status) {
    await checks.run("checkpoint", async () => {
      const logKey = await verifierKey(evidence.checkpointKey, 0x01, "the log's key");
      if (logKey.name !== note.origin) fail("the note's origin is not the log key's name");
      const line = note.signatures.find((s) => s.name === logKey.name && s.bytes.length === 68 && equal(s.bytes.slice(0, 4), logKey.id));
      if (!line) fail("no signature by the log's key " + toHex(logKey.id));
      if (!(await ed25519(logKey, line.bytes.slice(4), note.bytes))) fail("the log's signature on the checkpoint does not verify");
      return note.origin + " · " + note.size + " · " + logKey.text;
    });
    await checks.run("cosignatures", async () => {
      const quorum = Number.isSafeInteger(evidence.quorum) && evidence.quorum >= 0 ? evidence.quorum : fail("the quorum is not a number");
      const witnesses = Array.isArray(evidence.witnesses) ? evidence.witnesses : fail("the witness list is missing");
      const now = BigInt(Math.floor(Date.now() / 1000));
      const good = new Set();
      for (const witness of witnesses) {
        const key = await verifierKey(witness.key, 0x04, "witness " + witness.name);
        for (const line of note.signatures) {
          if (line.name !== key.name || line.bytes.length !== 76 || !equal(line.bytes.slice(0, 4), key.id)) continue;
          let time = 0n;
          for (const byte of line.bytes.slice(4, 12)) time = (time << 8n) | BigInt(byte);
          if (time > now + 600n || time >= 1n << 63n) continue;
          const message = concat(utf8.encode("cosignature/v1\ntime " + time.toString() + "\n"), note.bytes);
          if (await ed25519(key, line.bytes.slice(12), message)) good.add(key.name);
        }
      }
      if (good.size < quorum) fail(good.size + " of the " + quorum + " cosignatures the witness policy requires verify");
      return quorum === 0 ? status.dataset.noWitnesses : Array.from(good).join(", ") + " (" + good.size + "/" + quorum + ")";
    });
  }

  async function checkEntry(evidence, box, checks) {
    const seq = BigInt(box.dataset.seq);
    const status = box.querySelector(".verify-status");
    const leaf = await checks.run("leaf", async () => {
      const body = fromBase64(evidence.bodyBase64, "the body");
      const parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
      if (BigInt(parsed.seq) !== seq) fail("the body is entry " + parsed.seq + ", not " + seq);
      const shown = document.getElementById("entry-body");
      if (shown && shown.textContent !== new TextDecoder().decode(body)) fail("the body on this page differs from the body checked");
      const hash = await sha256(concat(new Uint8Array([0]), body));
      if (!equal(hash, fromHex(evidence.leafHash, "the leaf hash"))) fail("SHA-256(0x00 ‖ body) is " + toHex(hash) + ", not the stated leaf hash");
      return { value: { hash, keyID: parsed.key }, detail: toHex(hash) };
    });
    const key = await checks.run("entryKey", async () => {
      const key = await verifierKey(evidence.entryKey, 0x01, "the entry's key");
      if (leaf && leaf.keyID !== toHex(key.id)) fail("the body names key " + leaf.keyID + ", the evidence gives " + toHex(key.id));
      return { value: key, detail: status.dataset.keyLabel + ": " + key.text };
    });
    await checks.run("signature", async () => {
      if (!leaf || !key) fail("needs the leaf hash and the key, which failed above");
      const signature = fromBase64(evidence.signature, "the signature");
      if (signature.length !== 64) fail("the signature is not 64 bytes");
      if (!(await ed25519(key, signature, concat(entryContext, leaf.hash)))) fail("Ed25519 over pahlawan-entry/v1 ‖ 0x00 ‖ leaf does not verify");
      return "Ed25519 · " + toHex(key.id);
    });
    // The checkpoint does not depend on the entry: it is checked even when the entry fails.
    let note, noteError;
    try { note = parseNote(evidence.checkpoint && evidence.checkpoint.note); } catch (error) { noteError = error; }
    await checks.run("inclusion", async () => {
      if (noteError) throw noteError;
      if (!leaf) fail("needs the leaf hash, which failed above");
      const proof = (Array.isArray(evidence.inclusionProof) ? evidence.inclusionProof : fail("the proof is missing")).map((h) => fromHex(h, "a proof hash"));
      if (proof.some((h) => h.length !== 32)) fail("a proof hash is not 32 bytes");
      const root = await rootFromInclusion(seq, note.size, leaf.hash, proof);
      if (!equal(root, note.root)) fail("the proof leads to " + toHex(root) + ", not the checkpoint's root");
      return "seq " + seq + " ∈ " + note.size + " · " + toHex(root);
    });
    if (note) await checkCheckpoint(note, evidence, checks, status);
    else {
      await checks.run("checkpoint", async () => { throw noteError; });
      await checks.run("cosignatures", async () => { throw noteError; });
    }
  }

  // One list item per check, "passed" or "failed: why"; a failed check does not hide the others.
  function checkList(box, status) {
    const list = box.querySelector("ol.verify-checks");
    list.replaceChildren();
    let failed = 0;
    function item(name, ok, detail) {
      const li = document.createElement("li");
      li.className = ok ? "pass" : "fail";
      li.dataset.check = name;
      li.append((status.dataset["check" + name[0].toUpperCase() + name.slice(1)] || name) + ": " + (ok ? status.dataset.ok : status.dataset.bad));
      if (detail) {
        const span = document.createElement("span");
        span.className = "detail";
        span.textContent = detail;
        li.append(span);
      }
      list.append(li);
    }
    return {
      async run(name, check) {
        try {
          const result = await check();
          const value = result && typeof result === "object" && "value" in result ? result : { value: result, detail: result };
          item(name, true, typeof value.detail === "string" ? value.detail : "");
          return value.value;
        } catch (error) {
          failed++;
          item(name, false, error instanceof CheckFailed ? error.message : String(error && error.message || error));
          return undefined;
        }
      },
      get failed() { return failed; },
    };
  }

  async function ed25519Supported() {
    try {
      await crypto.subtle.importKey("raw", new Uint8Array(32), { name: "Ed25519" }, false, ["verify"]);
      return true;
    } catch (_) {
      return false;
    }
  }

  async function verify(box) {
    const status = box.querySelector(".verify-status");
    const button = box.querySelector(".verify-button");
    button.disabled = true;
    status.className = "verify-status";
    status.textContent = status.dataset.running;
    box.dataset.result = "running";
    try {
      if (!window.crypto || !crypto.subtle || !(await ed25519Supported())) {
        status.classList.add("unsupported");
        status.textContent = status.dataset.unsupported;
        box.dataset.result = "unsupported";
        return;
      }
      const response = await fetch(box.dataset.source, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
      const evidence = await response.json().catch(() => ({ title: "the evidence is not JSON" }));
      const started = performance.now();
      const checks = checkList(box, status);
      if (!response.ok) {
        await checks.run(box.dataset.verify === "entry" ? "leaf" : "checkpoint", async () => fail(evidence.title || "HTTP " + response.status));
      } else if (box.dataset.verify === "entry") {
        await checkEntry(evidence, box, checks);
      } else {
        let note;
        try { note = parseNote(evidence.note); } catch (error) { await checks.run("checkpoint", async () => { throw error; }); }
        if (note) await checkCheckpoint(note, evidence, checks, status);
      }
      const milliseconds = Math.max(1, Math.round(performance.now() - started));
      const failed = box.querySelectorAll("ol.verify-checks li.fail").length;
      box.dataset.ms = String(milliseconds);
      box.dataset.result = failed === 0 ? "pass" : "fail";
      status.classList.add(failed === 0 ? "pass" : "fail");
      status.textContent = (failed === 0 ? status.dataset.pass : status.dataset.fail) + " · " + status.dataset.took + " " + milliseconds + " ms";
    } catch (error) {
      box.dataset.result = "fail";
      status.classList.add("fail");
      status.textContent = status.dataset.fail + ": " + String(error && error.message || error);
    } finally {
      button.disabled = false;
    }
  }

  function start() {
    for (const box of document.querySelectorAll(".verify[data-source]")) {
      const button = box.querySelector(".verify-button");
      button.hidden = false;
      button.addEventListener("click", () => verify(box));
      const status = box.querySelector(".verify-status");
      status.textContent = "";
      if (box.dataset.verify === "entry") verify(box);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
