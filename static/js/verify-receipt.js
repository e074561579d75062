// Check a receipt in the browser: the receipt never leaves it (only its
// hash is sent), and the answer is checked here, not taken on trust: the
// line's hash is recomputed, its proof is followed up to the published
// root, and the root's signature is checked with the site's public key.
// Without JavaScript the form is sent and the server does the same checks.
// The format is core/countlog.py's.
(function () {
  "use strict";
  var ALPHABET = /^[A-Z2-7]{16}$/;

  function normalise(typed) {
    var cleaned = typed.toUpperCase().replace(/[^A-Z0-9]/g, "")
      .replace(/0/g, "O").replace(/1/g, "I").replace(/8/g, "B");
    return ALPHABET.test(cleaned) ? cleaned : null;
  }

  // Python's json.dumps(sort_keys=True, separators=(",", ":")).
  function canonical(value) {
    if (value === null || typeof value !== "object") { return JSON.stringify(value); }
    if (Array.isArray(value)) { return "[" + value.map(canonical).join(",") + "]"; }
    return "{" + Object.keys(value).sort().map(function (key) {
      return JSON.stringify(key) + ":" + canonical(value[key]);
    }).join(",") + "}";
  }

  function bytesOf(text) { return new TextEncoder().encode(text); }
  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function fromHex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) { out[i] = parseInt(text.substr(i * 2, 2), 16); }
    return out;
  }
  function join(parts) {
    var length = parts.reduce(function (sum, part) { return sum + part.length; }, 0);
    var out = new Uint8Array(length);
    var offset = 0;
    parts.forEach(function (part) { out.set(part, offset); offset += part.length; });
    return out;
  }
  function sha256(data) {
    return crypto.subtle.digest("SHA-256", data).then(function (d) { return new Uint8Array(d); });
  }

  function leafHash(leaf) {
    var fields = {};
    Object.keys(leaf).forEach(function (key) { if (key !== "hash") { fields[key] = leaf[key]; } });
    return sha256(join([new Uint8Array([0]), bytesOf(canonical(fields))]));
  }

  // pymerkle's InclusionProof: path[0] is the leaf; rule[i] says on which
  // side path[i + 1] goes (RFC 9162 node hash: 0x01 || left || right). As in
  // pymerkle's compute_root, the rule has one bit more than there are steps.
  function rootFromProof(proof) {
    var path = proof.path.map(fromHex);
    var result = Promise.resolve(path[0]);
    path.slice(1).forEach(function (sibling, i) {
      var bit = proof.rule[i];
      result = result.then(function (current) {
        var pair = bit === 0 ? [current, sibling] : [sibling, current];
        return sha256(join([new Uint8Array([1]), pair[0], pair[1]]));
      });
    });
    return result;
  }

  var SIGNED = ["format", "campaign", "size", "root", "counts", "shown", "published_at", "previous", "key_id"];

  function signatureChecks(head, keys) {
    var key = keys.filter(function (k) { return k.id === head.key_id; })[0];
    if (!key) { return Promise.resolve(false); }
    var signed = {};
    SIGNED.forEach(function (name) { signed[name] = head[name]; });
    var raw = Uint8Array.from(atob(key.public_key), function (c) { return c.charCodeAt(0); });
    var signature = Uint8Array.from(atob(head.signature), function (c) { return c.charCodeAt(0); });
    return crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"])
      .then(function (publicKey) {
        return crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, bytesOf(canonical(signed)));
      });
  }

  function checkEntry(entry, keys) {
    if (!entry.head || !entry.proof) { return Promise.resolve("pending"); }
    return leafHash(entry.leaf).then(function (computed) {
      if (hex(computed) !== entry.proof.path[0] || hex(computed) !== entry.leaf.hash) { return "bad"; }
      return rootFromProof(entry.proof).then(function (root) {
        if (hex(root) !== entry.head.root) { return "bad"; }
        // A browser without Ed25519 rejects here: the form then goes to the
        // server, which checks the signature (start's catch).
        return signatureChecks(entry.head, keys).then(function (ok) { return ok ? "ok" : "bad"; });
      });
    });
  }

  function paragraph(text, className) {
    var p = document.createElement("p");
    p.textContent = text;
    if (className) { p.className = className; }
    return p;
  }

  function show(form, result, receipt, entries, verdicts) {
    var words = form.dataset;
    result.textContent = "";
    var heading = document.createElement("h2");
    heading.textContent = words.receiptLabel + " " + receipt.match(/.{4}/g).join("-");
    result.appendChild(heading);
    if (!entries.length) { result.appendChild(paragraph(words.none)); return; }
    entries.forEach(function (entry, i) {
      var section = document.createElement("section");
      section.className = "record-entry";
      var title = document.createElement("h3");
      var link = document.createElement("a");
      link.href = entry.campaign.url;
      link.textContent = entry.campaign.title;
      title.appendChild(link);
      section.appendChild(title);
      var line = entry.leaf.day + " · " + entry.leaf.country + " · " + (entry.leaf.delta > 0 ? "+1" : "−1");
      section.appendChild(paragraph(line));
      var verdict = verdicts[i];
      var text = verdict === "ok"
        ? words.included.replace("{index}", entry.index).replace("{size}", entry.head.size)
        : verdict === "pending" ? words.pending : words.bad;
      section.appendChild(paragraph(text, "record-verdict record-" + verdict));
      section.setAttribute("data-verdict", verdict);
      result.appendChild(section);
    });
  }

  function start() {
    var form = document.querySelector("[data-verify-form]");
    var result = document.querySelector("[data-verify-result]");
    if (!form || !result || !window.crypto || !crypto.subtle) { return; }
    form.addEventListener("submit", function (event) {
      var receipt = normalise(form.elements.receipt.value);
      if (!receipt) { return; }  // the server explains what a receipt looks like
      event.preventDefault();
      result.textContent = form.dataset.checking;
      var keys;
      fetch(form.dataset.keysUrl, { credentials: "omit" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          keys = data.keys;
          return sha256(bytesOf("sitthi-receipt:" + receipt));
        })
        .then(function (hash) {
          return fetch(form.dataset.receiptUrl + "?hash=" + hex(hash), { credentials: "omit" });
        })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (data) {
          return Promise.all(data.entries.map(function (entry) { return checkEntry(entry, keys); }))
            .then(function (verdicts) {
              show(form, result, receipt, data.entries, verdicts);
              result.setAttribute("data-checked-in-browser", "true");
            });
        })
        .catch(function (error) {
          if (window.console) { console.error(error); }
          form.submit();  // let the server check it
        });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
