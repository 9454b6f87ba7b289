// The web desk's script and style sheet, compiled into the binary: the page
// loads nothing from anywhere but the desk, and needs no build step.

/// The files served at `/assets/{file}`: name → (content type, text).
enum WebAssets {
    static let files: [String: (type: String, text: String)] = [
        "desk.js": ("text/javascript; charset=utf-8", script),
        "desk.css": ("text/css; charset=utf-8", styles),
    ]

    /// Signing in and out, the buttons (`data-method`, `data-path`, `data-body`,
    /// sent with the session's CSRF value), the live sections (server-sent
    /// events replace each section's HTML as it changes), and deploying a
    /// folder or files as a tar written here in the browser.
    static let script = #"""
        "use strict";
        (function () {
          const csrfMeta = document.querySelector('meta[name="csrf-token"]');
          const csrf = csrfMeta ? csrfMeta.content : null;
          const status = document.getElementById("status");

          function say(text, failed) {
            if (!status) return;
            status.textContent = text;
            status.className = failed ? "failed" : "done";
          }

          async function call(method, path, body, contentType) {
            const headers = {};
            if (csrf) headers["X-CSRF-Token"] = csrf;
            if (body !== undefined && body !== null) headers["Content-Type"] = contentType || "application/json";
            const response = await fetch(path, {
              method: method, headers: headers, body: body, credentials: "same-origin", cache: "no-store"
            });
            let reply = null;
            const text = await response.text();
            try { reply = text ? JSON.parse(text) : null; } catch (e) { reply = null; }
            if (!response.ok) {
              const message = reply && reply.message ? reply.message : (response.status + " " + response.statusText);
              throw new Error(message);
            }
            return reply;
          }

          // Sign-in page.
          const signIn = document.getElementById("sign-in");
          if (signIn) {
            signIn.addEventListener("submit", async function (event) {
              event.preventDefault();
              const field = document.getElementById("token");
              try {
                await call("POST", "/session", JSON.stringify({ token: field.value }));
                field.value = "";
                window.location.replace("/");
              } catch (error) {
                field.value = "";
                say(error.message, true);
              }
            });
            return;
          }

          // Buttons that call the API.
          document.addEventListener("click", async function (event) {
            const button = event.target.closest("button[data-method]");
            if (!button) return;
            event.preventDefault();
            const label = button.textContent;
            button.disabled = true;
            try {
              let body = button.dataset.body || null;
              // A button with data-reason sends {"reason": …} from that field (a rejection says why).
              if (button.dataset.reason) {
                const field = document.getElementById(button.dataset.reason);
                body = JSON.stringify({ reason: field ? field.value.trim() : "" });
              }
              const reply = await call(button.dataset.method, button.dataset.path, body);
              let detail = "";
              if (reply && Array.isArray(reply.results)) {
                detail = reply.results.map(function (r) { return r.name + ": " + (r.message || r.outcome || r.state || "done"); }).join("; ");
              } else if (reply && typeof reply.message === "string") {
                detail = reply.message;
              }
              say(label + ": done" + (detail ? " (" + detail + ")" : ""), false);
            } catch (error) {
              say(label + ": " + error.message, true);
            } finally {
              button.disabled = false;
            }
          });

          // Following a strategy's log.
          let following = null;
          document.addEventListener("click", function (event) {
            const button = event.target.closest("button[data-log]");
            if (!button) return;
            following = button.dataset.log;
            listen();
          });

          const signOut = document.getElementById("sign-out");
          if (signOut) {
            signOut.addEventListener("click", async function () {
              try { await call("DELETE", "/session", null); } catch (error) { /* signed out already */ }
              window.location.replace("/");
            });
          }

          // Live sections.
          const liveState = document.getElementById("live-state");
          let source = null;
          function listen() {
            if (source) source.close();
            source = new EventSource("/events" + (following ? "?log=" + encodeURIComponent(following) : ""));
            source.addEventListener("open", function () {
              if (liveState) { liveState.textContent = "live"; liveState.dataset.live = "1"; }
            });
            source.addEventListener("error", function () {
              if (liveState) { liveState.textContent = "reconnecting…"; liveState.dataset.live = "0"; }
            });
            source.addEventListener("section", function (event) {
              const section = JSON.parse(event.data);
              const element = document.getElementById(section.id);
              if (element) element.innerHTML = section.html;
            });
            source.addEventListener("signed-out", function () {
              source.close();
              window.location.replace("/");
            });
          }
          if (document.getElementById("account")) listen();

          // Deploying: the chosen folder or files as an uncompressed tar.
          function octal(value, width) {
            const digits = value.toString(8);
            return "0".repeat(Math.max(0, width - 1 - digits.length)) + digits;
          }
          function header(name, size) {
            const block = new Uint8Array(512);
            const encoder = new TextEncoder();
            let bytes = encoder.encode(name);
            let prefix = new Uint8Array(0);
            if (bytes.length > 100) {
              const slash = name.lastIndexOf("/", name.length - 1);
              prefix = encoder.encode(name.slice(0, slash));
              bytes = encoder.encode(name.slice(slash + 1));
              if (prefix.length > 155 || bytes.length > 100) throw new Error(name + " is too long a path");
            }
            function put(text, at) { block.set(typeof text === "string" ? encoder.encode(text) : text, at); }
            put(bytes, 0);
            put(octal(0o644, 8), 100);
            put(octal(0, 8), 108);
            put(octal(0, 8), 116);
            put(octal(size, 12), 124);
            put(octal(Math.floor(Date.now() / 1000), 12), 136);
            block[156] = 48; // "0": a file
            put("ustar", 257);
            put("00", 263);
            put(prefix, 345);
            for (let i = 148; i < 156; i++) block[i] = 32;
            let sum = 0;
            for (let i = 0; i < 512; i++) sum += block[i];
            put(octal(sum, 7), 148);
            block[154] = 0;
            block[155] = 32;
            return block;
          }
          async function tar(files) {
            const parts = [];
            for (const file of files) {
              const name = file.webkitRelativePath || file.name;
              const data = new Uint8Array(await file.arrayBuffer());
              parts.push(header(name, data.length), data);
              const pad = (512 - data.length % 512) % 512;
              if (pad) parts.push(new Uint8Array(pad));
            }
            parts.push(new Uint8Array(1024));
            return new Blob(parts, { type: "application/x-tar" });
          }
          const deploy = document.getElementById("deploy");
          if (deploy) {
            deploy.addEventListener("submit", async function (event) {
              event.preventDefault();
              const name = document.getElementById("deploy-name").value.trim();
              const folder = Array.from(document.getElementById("deploy-folder").files);
              const loose = Array.from(document.getElementById("deploy-files").files);
              const files = folder.length ? folder : loose;
              if (!files.length) { say("Deploy: choose a folder or files holding strategy.py", true); return; }
              const start = document.getElementById("deploy-start").checked;
              const button = document.getElementById("deploy-button");
              button.disabled = true;
              try {
                const body = await tar(files);
                const reply = await call(
                  "PUT", "/strategies/" + encodeURIComponent(name) + (start ? "?start=1" : ""), body, "application/x-tar");
                say("Deployed " + reply.name + " (" + reply.files + " files" +
                  (reply.previous_kept ? ", the previous version kept" : "") +
                  (reply.started ? "; " + (reply.started.message || reply.started.outcome || "started") : "") + ")", false);
                deploy.reset();
              } catch (error) {
                say("Deploy: " + error.message, true);
              } finally {
                button.disabled = false;
              }
            });
          }

          // Submitting a backtest: the data file goes in the request (base64), or names one the desk holds.
          const backtest = document.getElementById("backtest");
          if (backtest) {
            backtest.addEventListener("submit", async function (event) {
              event.preventDefault();
              const value = function (id) { return document.getElementById(id).value.trim(); };
              const body = { strategy: value("backtest-strategy"), data: [] };
              const upload = document.getElementById("backtest-upload").files[0];
              const button = document.getElementById("backtest-button");
              button.disabled = true;
              try {
                if (upload) {
                  const bytes = new Uint8Array(await upload.arrayBuffer());
                  let binary = "";
                  for (let i = 0; i < bytes.length; i += 0x8000) {
                    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
                  }
                  body.data.push({ upload: { name: upload.name, content: btoa(binary) } });
                }
                if (value("backtest-file")) body.data.push({ file: value("backtest-file") });
                if (value("backtest-recorded")) {
                  const days = value("backtest-recorded").split(":");
                  if (days.length !== 2) throw new Error("the recorded feed is FROM:TO, such as 2026-11-16:2026-11-18");
                  body.data.push({ recorded: { from: days[0].trim(), to: days[1].trim() } });
                }
                if (!body.data.length) throw new Error("choose a data file, name one the desk holds, or give recorded days");
                if (value("backtest-sweep")) {
                  try { body.sweep = JSON.parse(value("backtest-sweep")); } catch (e) {
                    throw new Error("the sweep is not JSON: " + e.message);
                  }
                  body.rank_by = document.getElementById("backtest-rank-by").value;
                  if (value("backtest-walk-forward")) body.walk_forward = value("backtest-walk-forward");
                }
                const reply = await call("POST", "/backtests", JSON.stringify(body));
                say("Backtest " + reply.id + " " + reply.status, false);
                backtest.reset();
              } catch (error) {
                say("Backtest: " + error.message, true);
              } finally {
                button.disabled = false;
              }
            });
          }

          // Issuing a token (admins): the secret is shown this once.
          const issue = document.getElementById("issue-token");
          if (issue) {
            issue.addEventListener("submit", async function (event) {
              event.preventDefault();
              const body = { member: document.getElementById("token-member").value.trim(),
                kind: document.getElementById("token-kind").value };
              const strategy = document.getElementById("token-strategy").value.trim();
              if (strategy) body.strategy = strategy;
              const venue = document.getElementById("token-venue").value.trim();
              if (venue) body.venue = venue;
              const output = document.getElementById("issued");
              try {
                const reply = await call("POST", "/admin/tokens", JSON.stringify(body));
                output.textContent = "Token " + reply.token.id + " for " + reply.token.member + " (shown once): " + reply.secret;
                say("Token issued", false);
              } catch (error) {
                output.textContent = "";
                say("Issue: " + error.message, true);
              }
            });
          }
        })();
        """#

    /// One column on a phone, sections side by side on a wide screen; gains and
    /// losses are coloured and also signed (+/−), so colour is never the only mark.
    static let styles = #"""
        :root { --ink: #1c2430; --muted: #5b6675; --line: #d8dee6; --paper: #ffffff; --back: #f3f5f8;
          --gain: #0b6b2f; --loss: #b00020; --accent: #1f5fbf; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--back); }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .6rem 1rem; background: var(--ink); color: #fff; }
        header h1 { font-size: 1.2rem; margin: 0; }
        header p { margin: 0; flex: 1; }
        main { display: grid; gap: 1rem; padding: 1rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 30rem), 1fr)); }
        section:has(#strategies), section:has(#orders), section:has(#leaderboard), section:has(#promotion), section:has(#approvals), section:has(#backtests) { grid-column: 1 / -1; }
        section { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; min-width: 0; }
        h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
        h3 { font-size: .95rem; margin: .8rem 0 .4rem; }
        .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .5rem; margin: 0; }
        .figures dt { color: var(--muted); font-size: .8rem; }
        .figures dd { margin: 0; font-size: 1.1rem; font-variant-numeric: tabular-nums; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: .3rem .45rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
        td:last-child { white-space: normal; min-width: 15rem; }
        td:last-child button { margin: .1rem 0; }
        th { font-size: .8rem; color: var(--muted); font-weight: 600; }
        .gain { color: var(--gain); }
        .loss { color: var(--loss); }
        .empty, .hint { color: var(--muted); }
        .warning, .failed { color: var(--loss); }
        .done { color: var(--gain); }
        #status { margin: .5rem 1rem 0; min-height: 1.2em; }
        #live-state { margin: 0 1rem; font-size: .8rem; }
        button { font: inherit; padding: .3rem .7rem; border: 1px solid var(--accent); background: #fff; color: var(--accent); border-radius: 4px; cursor: pointer; min-height: 2rem; }
        button:hover, button:focus { background: var(--accent); color: #fff; }
        button:disabled { opacity: .5; }
        header button { border-color: #fff; color: #fff; background: transparent; }
        form.tool { display: grid; gap: .35rem; margin-top: .8rem; max-width: 30rem; }
        input.reason { width: 12rem; }
        input, select { font: inherit; padding: .3rem; border: 1px solid var(--line); border-radius: 4px; max-width: 100%; }
        label.check { display: flex; gap: .4rem; align-items: center; }
        pre.log { background: #11161d; color: #d6dde6; padding: .6rem; overflow: auto; max-height: 22rem; font-size: .8rem; white-space: pre-wrap; word-break: break-all; }
        .chart { width: 100%; height: auto; background: #fafbfc; border: 1px solid var(--line); }
        .chart .curve { fill: none; stroke: var(--accent); stroke-width: 2; }
        .chart .zero { stroke: var(--muted); stroke-dasharray: 4 3; stroke-width: 1; }
        figure { margin: 0; }
        figcaption { font-size: .85rem; color: var(--muted); margin-top: .3rem; }
        .badge { background: #fff; color: var(--ink); border-radius: 3px; padding: 0 .35rem; font-size: .8rem; }
        body.signin main { display: block; max-width: 26rem; margin: 3rem auto; }
        body.signin form { display: grid; gap: .5rem; background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: 1rem; }
        body.signin #status { margin: 0; }
        """#
}
