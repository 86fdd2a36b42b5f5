// The officer's verifier page: read a card's QR code from the camera, an
// image file or typed text, verify it offline against the trust list and
// deny list embedded in the page, and show the verdict and the holder's
// signed fields. The page makes no network request.

import jsQR from "jsqr";
import { inflateBrotli } from "./brotli.js";
import { loadDenyList, loadTrustList, Verdict, verifyText } from "./verify.js";
import { visible } from "./visible.js";

const MAX_FILE_BYTES = 32 << 20;
const MAX_PIXELS = 64 << 20;

const $ = (id) => document.getElementById(id);

function readJSON(id) {
  const el = $(id);
  if (!el) return null;
  try {
    return JSON.parse(el.textContent);
  } catch {
    return null;
  }
}

const LABELS = {
  id: "Card serial",
  full_name: "Full name",
  date_of_birth: "Date of birth",
  gender: "Gender",
  nationality: "Nationality",
  legal_status: "Legal status",
  country_of_issuance: "Country of issuance",
  card_type: "Card type",
  face: "Face image",
};

const HEADLINES = {
  [Verdict.VALID]: "VALID: signed by a trusted issuer",
  [Verdict.EXPIRED]: "EXPIRED",
  [Verdict.NOT_YET_VALID]: "NOT YET VALID",
  [Verdict.REVOKED]: "REVOKED: card is on the deny list",
  [Verdict.UNKNOWN_KEY]: "UNKNOWN ISSUER KEY",
  [Verdict.BAD_SIGNATURE]: "BAD SIGNATURE: data was altered or forged",
  [Verdict.MALFORMED]: "NOT A CARD CODE (malformed)",
  reading: "Reading…",
  "no-code": "NO QR CODE FOUND",
};

// Verdicts reached after the signature verified.
const SIGNED = new Set([Verdict.VALID, Verdict.EXPIRED, Verdict.NOT_YET_VALID, Verdict.REVOKED]);

// formatTime shows an RFC 3339 UTC time as "2026-11-27 10:00 UTC".
function formatTime(s) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(s);
  return m ? `${m[1]} ${m[2]} UTC` : s;
}

function formatDOB(s) {
  return /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}` : s;
}

let faceURL = null;

function show(state, res) {
  const box = $("result");
  box.hidden = false;
  box.dataset.verdict = state;
  $("verdict").textContent = HEADLINES[state] || state;
  $("verdict").dataset.verdict = state;
  $("reason").textContent = res && res.reason ? visible(res.reason) : "";
  const tbody = $("fields");
  tbody.replaceChildren();
  if (faceURL) {
    URL.revokeObjectURL(faceURL);
    faceURL = null;
  }
  $("face").hidden = true;
  $("face").removeAttribute("src");
  $("unverified").hidden = true;
  if (!res || !res.credential) return;
  const rows = [];
  for (const [label, value] of res.fields) {
    if (label === "face") continue;
    rows.push([LABELS[label] || label, label === "date_of_birth" ? formatDOB(value) : value, label]);
  }
  if (res.issuer) rows.push(["Issuer", res.issuer, "issuer"]);
  if (res.kid) rows.push(["Key ID", res.kid, "kid"]);
  if (res.issuedAt) rows.push(["Issued", formatTime(res.issuedAt), "issued_at"]);
  if (res.notBefore) rows.push(["Valid from", formatTime(res.notBefore), "not_before"]);
  if (res.expires) rows.push(["Expires", formatTime(res.expires), "expires"]);
  for (const [label, value, key] of rows) {
    const tr = document.createElement("tr");
    tr.dataset.field = key;
    const th = document.createElement("th");
    th.textContent = visible(label);
    const td = document.createElement("td");
    // Every string of the card, signed or not, is escaped: a name
    // with a newline, an escape or a bidi override shows as such.
    td.textContent = visible(value);
    tr.append(th, td);
    tbody.append(tr);
  }
  $("unverified").hidden = state === Verdict.VALID;
  // A face is shown only under a signature that verified: a forged card
  // must not put a convincing portrait in front of the officer.
  const face = res.credential.face;
  if (face && face.type && SIGNED.has(state)) {
    faceURL = URL.createObjectURL(new Blob([face.data], { type: face.type }));
    $("face").src = faceURL;
    $("face").hidden = false;
  }
}

function main() {
  const trustFile = readJSON("cardd-trust") || { keys: [] };
  const deny = loadDenyList(readJSON("cardd-deny"));
  const ready = loadTrustList(trustFile).then((trust) => {
    const parts = [`${trust.size} trusted issuer key${trust.size === 1 ? "" : "s"}`];
    parts.push(`${deny.set.size} revoked serial${deny.set.size === 1 ? "" : "s"}${deny.generated ? ` (list of ${formatTime(deny.generated)})` : ""}`);
    $("lists").textContent = parts.join(", ") + ".";
    if (trust.problems.length) {
      $("problems").textContent = "Unusable trust list entries: " + trust.problems.join("; ");
      $("problems").hidden = false;
    }
    document.body.dataset.ready = "true";
    return trust;
  });

  async function check(text, source) {
    show("reading", null);
    const trust = await ready;
    const res = await verifyText(text, trust, deny, new Date(), inflateBrotli);
    res.source = source;
    show(res.verdict, res);
    return res;
  }

  // for a handheld scanner that types, and for tests
  window.carddVerifyText = (text) => check(text, "text").then((r) => ({ ...r, credential: undefined }));

  $("text-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    check($("text").value.trim(), "text");
  });

  const canvas = document.createElement("canvas");
  const ctx2d = canvas.getContext("2d", { willReadFrequently: true });

  function scan(source, w, h, scale, invert) {
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    ctx2d.imageSmoothingEnabled = scale < 1;
    ctx2d.drawImage(source, 0, 0, canvas.width, canvas.height);
    const img = ctx2d.getImageData(0, 0, canvas.width, canvas.height);
    const code = jsQR(img.data, img.width, img.height, { inversionAttempts: invert });
    return code ? code.data : null;
  }

  $("file").addEventListener("change", async () => {
    const f = $("file").files[0];
    if (!f) return;
    show("reading", null);
    if (f.size > MAX_FILE_BYTES) {
      show(Verdict.MALFORMED, { reason: `image file of ${f.size} bytes is too large`, fields: [] });
      return;
    }
    let bmp;
    try {
      bmp = await createImageBitmap(f);
    } catch {
      show(Verdict.MALFORMED, { reason: "not an image this browser can read", fields: [] });
      return;
    }
    if (bmp.width * bmp.height > MAX_PIXELS) {
      show(Verdict.MALFORMED, { reason: `image of ${bmp.width}x${bmp.height} pixels is too large`, fields: [] });
      return;
    }
    const side = Math.max(bmp.width, bmp.height);
    const scales = [...new Set([Math.min(1, 1600 / side), Math.min(1, 800 / side), Math.min(1, 2400 / side)])];
    let text = null;
    for (const s of scales) {
      text = scan(bmp, bmp.width, bmp.height, s, "attemptBoth");
      if (text) break;
    }
    bmp.close();
    $("file").value = "";
    if (text === null) {
      show("no-code", { reason: "no QR code could be read from the image; try a sharper, closer photo", fields: [] });
      return;
    }
    check(text, "image");
  });

  let stream = null;
  const video = $("video");
  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.hidden = true;
    $("scan").textContent = "Scan with camera";
  }
  $("scan").addEventListener("click", async () => {
    if (stream) {
      stopCamera();
      return;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show(Verdict.MALFORMED, { reason: "this browser gives no camera access to this page (it needs https or a local file); take a photo and use the image button", fields: [] });
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      show(Verdict.MALFORMED, { reason: `camera: ${e.message}`, fields: [] });
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    $("scan").textContent = "Stop camera";
    await video.play().catch(() => {});
    const tick = () => {
      if (!stream) return;
      if (video.readyState >= 2 && video.videoWidth > 0) {
        const side = Math.max(video.videoWidth, video.videoHeight);
        const text = scan(video, video.videoWidth, video.videoHeight, Math.min(1, 960 / side), "dontInvert");
        if (text) {
          stopCamera();
          check(text, "camera");
          return;
        }
      }
      setTimeout(() => requestAnimationFrame(tick), 120);
    };
    requestAnimationFrame(tick);
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", main);
} else {
  main();
}
