/* In-browser verifier for algorithm lottery-draw-v1 (FAIRNESS.md, "Verifying").
 *
 * Re-implements every check with WebCrypto (SHA-256, HMAC-SHA256) and BigInt, trusting
 * nothing but the published proof and ballots.txt. The check names and their order are
 * those of the `lottery verify` command, so both report the same "Check failed: NAME".
 * The pure functions are exposed as window.LotteryVerify (tests run the golden vectors).
 */
(function () {
  "use strict";

  var ALGORITHM = "lottery-draw-v1";
  var SEED_BYTES = 32;
  var MAX_SLOTS = 1000000; // a hostile proof must not make us build billions of slots
  var HEX64 = /^[0-9a-f]{64}$/;
  var HEX = /^(?:[0-9a-f]{2})+$/;
  var DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
  var WINNER_FIELDS = ["slot", "prize_rank", "ballot_id", "index", "counter"];
  var WINNERS_NEED = ["date", "seed", "ballots_canonical", "ballot_digest", "beacon"];
  var encoder = new TextEncoder();

  // ---- bytes and hashes ------------------------------------------------------------------

  function subtle() {
    if (!window.crypto || !window.crypto.subtle) {
      throw new Error("this browser offers no WebCrypto here (it needs https:// or localhost)");
    }
    return window.crypto.subtle;
  }

  function toHex(bytes) {
    var view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    var out = new Array(view.length);
    for (var i = 0; i < view.length; i++) out[i] = (view[i] < 16 ? "0" : "") + view[i].toString(16);
    return out.join("");
  }

  function fromHex(hex) {
    if (typeof hex !== "string" || hex.length % 2 !== 0 || (hex.length && !HEX.test(hex))) {
      throw new Error("not lowercase hex: " + String(hex).slice(0, 80));
    }
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  function sha256Hex(bytes) {
    return subtle()
      .digest("SHA-256", bytes)
      .then(function (digest) {
        return toHex(digest);
      });
  }

  /** commitment = hex SHA-256("lottery-draw-v1|commit|" + date + "|" + seed bytes). */
  function commitment(date, seedHex) {
    return sha256Hex(concat(encoder.encode(ALGORITHM + "|commit|" + date + "|"), fromHex(seedHex)));
  }

  // ---- ballots.txt ------------------------------------------------------------------------

  function countNewlines(bytes) {
    var n = 0;
    for (var i = 0; i < bytes.length; i++) if (bytes[i] === 10) n++;
    return n;
  }

  function ascends(id, previous) {
    // Both are canonical decimals (no leading zeros): longer is larger, else compare text.
    return id.length > previous.length || (id.length === previous.length && id > previous);
  }

  /** The ids (as decimal strings) of canonical ballots.txt bytes; throws on any deviation. */
  function parseBallotsTxt(bytes) {
    var ids = [];
    if (bytes.length === 0) return ids;
    var start = 0;
    var line = 1;
    var previous = "";
    for (var i = 0; i < bytes.length; i++) {
      var b = bytes[i];
      if (b === 10) {
        if (i === start) throw new Error("line " + line + ": blank line");
        var id = String.fromCharCode.apply(null, bytes.subarray(start, i));
        if (bytes[start] === 48) throw new Error("line " + line + ": " + id.slice(0, 40) + " is zero or has a leading zero");
        if (previous && !ascends(id, previous)) {
          throw new Error("line " + line + ": " + id.slice(0, 40) + " does not ascend strictly after " + previous);
        }
        ids.push(id);
        previous = id;
        start = i + 1;
        line++;
      } else if (b < 48 || b > 57) {
        throw new Error("line " + line + ": not a plain decimal id");
      }
    }
    if (start !== bytes.length) throw new Error("line " + line + ": missing final newline");
    return ids;
  }

  function ballotsTxt(ids) {
    return encoder.encode(
      ids
        .map(function (id) {
          return String(id) + "\n";
        })
        .join("")
    );
  }

  // ---- drawing ----------------------------------------------------------------------------

  function isInt(value) {
    return typeof value === "number" && Number.isInteger(value);
  }

  /** The prize table as slots: by rank ascending, each prize `count` times. */
  function prizeSlots(prizes) {
    var table = prizes.map(function (p) {
      ["rank", "count"].forEach(function (key) {
        if (!(key in p)) throw new Error("prize has no " + key);
        if (!isInt(p[key])) throw new Error("prize " + key + " must be an integer, got " + JSON.stringify(p[key]));
      });
      if (p.count < 0) throw new Error("prize count must not be negative");
      return [p.rank, p.count];
    });
    table.sort(function (a, b) {
      return a[0] - b[0] || a[1] - b[1];
    });
    var slots = [];
    table.forEach(function (entry) {
      for (var k = 0; k < entry[1]; k++) slots.push({ slot: slots.length, prize_rank: entry[0] });
    });
    return slots;
  }

  /** The drawing loop of FAIRNESS.md: winning positions in the ballot list, in slot order. */
  function pickIndices(seedHex, date, ballotDigest, beacon, ballotCount, slots) {
    var seed = fromHex(seedHex);
    if (seed.length !== SEED_BYTES) return Promise.reject(new Error("seed must be 32 bytes"));
    if (ballotCount === 0) return Promise.resolve([]);
    var n = BigInt(ballotCount);
    var limit = ((1n << 256n) / n) * n;
    var prefix = ALGORITHM + "|" + date + "|" + ballotDigest + "|" + beacon + "|";
    return subtle()
      .importKey("raw", seed, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
      .then(function (key) {
        var picked = new Set();
        var picks = [];
        var counter = 0;
        var slotIndex = 0;
        function nextSlot() {
          if (slotIndex >= slots.length || picked.size >= ballotCount) return Promise.resolve(picks);
          var slot = slots[slotIndex++];
          return draw().then(function (found) {
            picked.add(found.index);
            picks.push({ slot: slot.slot, prize_rank: slot.prize_rank, index: found.index, counter: found.counter });
            return nextSlot();
          });
        }
        function draw() {
          var thisCounter = counter++;
          return subtle()
            .sign("HMAC", key, encoder.encode(prefix + String(thisCounter)))
            .then(function (mac) {
              var x = BigInt("0x" + toHex(mac));
              if (x >= limit) return draw(); // rejection sampling: no modulo bias
              var index = Number(x % n);
              if (picked.has(index)) return draw(); // one prize per ballot
              return { index: index, counter: thisCounter };
            });
        }
        return nextSlot();
      });
  }

  /** Everything a draw produces from its inputs (used by the golden-vector tests). */
  function drawAll(input) {
    var txt = ballotsTxt(input.ballot_ids);
    var ids = input.ballot_ids.map(String);
    return Promise.all([commitment(input.date, input.seed), sha256Hex(txt)]).then(function (hashes) {
      return pickIndices(input.seed, input.date, hashes[1], input.beacon || "", ids.length, prizeSlots(input.prizes)).then(
        function (picks) {
          return {
            commitment: hashes[0],
            ballot_digest: hashes[1],
            winners: picks.map(function (p) {
              return { slot: p.slot, prize_rank: p.prize_rank, ballot_id: Number(ids[p.index]), index: p.index, counter: p.counter };
            }),
          };
        }
      );
    });
  }

  // ---- the checks, in FAIRNESS.md order ---------------------------------------------------

  function check(name, ok, detail) {
    return { name: name, ok: ok, detail: detail };
  }

  function validDate(value) {
    if (typeof value !== "string" || !DATE.test(value)) return false;
    var year = Number(value.slice(0, 4));
    var parsed = new Date(value + "T00:00:00Z");
    return year >= 1 && !isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
  }

  function blocked(checks, name, needs) {
    var failed = checks
      .filter(function (c) {
        return needs.indexOf(c.name) !== -1 && !c.ok;
      })
      .map(function (c) {
        return c.name;
      });
    return failed.length ? check(name, false, "not checked: " + failed.join(", ") + " failed") : null;
  }

  function checkBeacon(beacon) {
    if (beacon === null || beacon === undefined) return Promise.resolve(check("beacon", true, "no beacon"));
    if (typeof beacon !== "object" || Array.isArray(beacon)) {
      return Promise.resolve(check("beacon", false, "beacon must be null or an object"));
    }
    var fail = function (detail) {
      return Promise.resolve(check("beacon", false, detail));
    };
    if (typeof beacon.source !== "string" || !beacon.source) return fail("beacon source missing");
    if (typeof beacon.chain !== "string" || !HEX.test(beacon.chain)) return fail("beacon chain hash missing or not lowercase hex");
    if (!isInt(beacon.round) || beacon.round < 1) return fail("beacon round must be a positive integer");
    if (typeof beacon.signature !== "string" || !HEX.test(beacon.signature)) return fail("beacon signature missing or not lowercase hex");
    if (typeof beacon.randomness !== "string" || !HEX64.test(beacon.randomness)) {
      return fail("beacon randomness missing or not 64 lowercase hex digits");
    }
    return sha256Hex(fromHex(beacon.signature)).then(function (digest) {
      if (digest !== beacon.randomness) return check("beacon", false, "round " + beacon.round + ": randomness is not SHA-256 of signature");
      return check("beacon", true, "round " + beacon.round + " of " + beacon.source + ": randomness is SHA-256 of signature");
    });
  }

  function sameWinner(want, got) {
    if (!got || typeof got !== "object") return false;
    return WINNER_FIELDS.every(function (field) {
      return isInt(got[field]) && String(got[field]) === String(want[field]);
    });
  }

  function checkWinners(proof, ids) {
    var prizes = proof.prizes;
    if (!Array.isArray(prizes) || !prizes.every(function (p) { return p && typeof p === "object" && !Array.isArray(p); })) {
      return Promise.resolve(check("winners", false, "prize table missing or malformed"));
    }
    var counts = prizes.map(function (p) { return p.count; });
    if (counts.every(isInt) && counts.reduce(function (a, b) { return a + b; }, 0) > MAX_SLOTS) {
      return Promise.resolve(check("winners", false, "prize table has more than " + MAX_SLOTS + " prizes"));
    }
    var slots;
    try {
      slots = prizeSlots(prizes);
    } catch (error) {
      return Promise.resolve(check("winners", false, "prize table unusable: " + error.message));
    }
    var beacon = proof.beacon && typeof proof.beacon === "object" ? proof.beacon.randomness : "";
    return pickIndices(proof.seed, proof.date, proof.ballot_digest, beacon, ids.length, slots).then(function (picks) {
      var expected = picks.map(function (p) {
        return { slot: p.slot, prize_rank: p.prize_rank, ballot_id: ids[p.index], index: p.index, counter: p.counter };
      });
      var published = proof.winners;
      if (!Array.isArray(published)) return check("winners", false, "winners must be a list");
      for (var i = 0; i < Math.min(expected.length, published.length); i++) {
        if (!sameWinner(expected[i], published[i])) {
          var shown = Object.assign({}, expected[i], { ballot_id: Number(expected[i].ballot_id) });
          return check("winners", false, "winner " + i + ": expected " + JSON.stringify(shown) + ", proof has " + JSON.stringify(published[i]));
        }
      }
      if (expected.length !== published.length) {
        return check("winners", false, "expected " + expected.length + " winners, proof has " + published.length);
      }
      return check("winners", true, expected.length + " winners reproduced from " + slots.length + " prize slots");
    });
  }

  /** Every check of FAIRNESS.md on a proof and the ballots.txt bytes; never rejects. */
  function verifyProof(proof, ballots, options) {
    options = options || {};
    if (!proof || typeof proof !== "object" || Array.isArray(proof)) proof = {};
    var checks = [];

    checks.push(
      proof.algorithm === ALGORITHM
        ? check("algorithm", true, ALGORITHM)
        : check("algorithm", false, "expected " + ALGORITHM + ", got " + JSON.stringify(proof.algorithm))
    );

    if (!validDate(proof.date)) checks.push(check("date", false, "not a YYYY-MM-DD date: " + JSON.stringify(proof.date)));
    else if (options.expectedDate && proof.date !== options.expectedDate) {
      checks.push(check("date", false, "proof is for " + proof.date + ", expected " + options.expectedDate));
    } else checks.push(check("date", true, proof.date));

    checks.push(
      proof.status === "closed"
        ? check("status", true, "closed")
        : check("status", false, "draw is " + JSON.stringify(proof.status) + ", winners are only final once closed")
    );

    if (proof.seed === null || proof.seed === undefined) checks.push(check("seed", false, "seed not revealed"));
    else if (typeof proof.seed !== "string" || !HEX64.test(proof.seed)) checks.push(check("seed", false, "seed must be 32 bytes as lowercase hex"));
    else checks.push(check("seed", true, "32 bytes revealed"));

    var ids = null;
    var commitmentStep = Promise.resolve(blocked(checks, "commitment", ["date", "seed"])).then(function (stop) {
      if (stop) return stop;
      return commitment(proof.date, proof.seed).then(function (recomputed) {
        if (proof.commitment !== recomputed) {
          return check("commitment", false, "seed and date give " + recomputed + ", proof says " + JSON.stringify(proof.commitment));
        }
        if (options.expectedCommitment && options.expectedCommitment.trim().toLowerCase() !== proof.commitment) {
          return check("commitment", false, "proof says " + proof.commitment + ", recorded while open: " + options.expectedCommitment);
        }
        return check("commitment", true, recomputed + " matches the seed");
      });
    });

    return commitmentStep
      .then(function (commitmentCheck) {
        checks.push(commitmentCheck);
        try {
          ids = parseBallotsTxt(ballots);
          checks.push(check("ballots_canonical", true, ids.length + " ids, canonical"));
        } catch (error) {
          checks.push(check("ballots_canonical", false, "ballots.txt is not canonical: " + error.message));
        }
        var lines = countNewlines(ballots);
        checks.push(
          isInt(proof.ballot_count) && proof.ballot_count === lines
            ? check("ballot_count", true, lines + " ballots")
            : check("ballot_count", false, "proof says " + JSON.stringify(proof.ballot_count) + ", ballots.txt has " + lines + " lines")
        );
        return sha256Hex(ballots);
      })
      .then(function (digest) {
        checks.push(
          proof.ballot_digest === digest
            ? check("ballot_digest", true, digest)
            : check("ballot_digest", false, "SHA-256(ballots.txt) is " + digest + ", proof says " + JSON.stringify(proof.ballot_digest))
        );
        return checkBeacon(proof.beacon);
      })
      .then(function (beaconCheck) {
        checks.push(beaconCheck);
        return checkBeaconRound(proof);
      })
      .then(function (roundCheck) {
        if (roundCheck) checks.push(roundCheck);
        var stop = blocked(checks, "winners", WINNERS_NEED);
        return stop || checkWinners(proof, ids || []);
      })
      .then(function (winnersCheck) {
        checks.push(winnersCheck);
        return checks;
      })
      .catch(function (error) {
        checks.push(check("verifier", false, String(error && error.message ? error.message : error)));
        return checks;
      });
  }

  /**
   * With a beacon: fetch the chain's /info from the beacon itself and check the proof used the
   * planned round, the first due at least 30 s after closes_at (FAIRNESS.md). Null without one.
   */
  var configuredBeacon = "";

  function checkBeaconRound(proof) {
    var beacon = proof.beacon;
    if (!beacon || typeof beacon !== "object" || typeof beacon.source !== "string") return Promise.resolve(null);
    var source = beacon.source.replace(/\/+$/, "");
    if (source !== configuredBeacon) {
      // This page may only contact the lottery's configured beacon (its CSP says so).
      return Promise.resolve(
        check("beacon_round", false, "the proof names beacon " + source + ", not this lottery's; check it with lottery verify")
      );
    }
    var url = source + "/" + beacon.chain + "/info";
    return window
      .fetch(url, { cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (info) {
        var genesis = info.genesis_time;
        var period = info.period;
        var closesAt = Math.floor(Date.parse(proof.closes_at) / 1000);
        if (!isInt(genesis) || !isInt(period) || period <= 0 || isNaN(closesAt)) {
          return check("beacon_round", false, "cannot compute the planned round from the chain info");
        }
        if (info.hash && info.hash !== beacon.chain) {
          return check("beacon_round", false, "chain info is for " + info.hash + ", proof names " + beacon.chain);
        }
        var earliest = closesAt + 30;
        var planned = earliest <= genesis ? 1 : Math.ceil((earliest - genesis) / period) + 1;
        if (beacon.round !== planned) {
          return check("beacon_round", false, "round " + beacon.round + " used, round " + planned + " is the first due 30 s after closes_at");
        }
        return check("beacon_round", true, "round " + beacon.round + " is the planned round");
      })
      .catch(function (error) {
        return check("beacon_round", false, "chain info unreachable at " + url + ": " + error.message);
      });
  }

  /** The exact verdict texts of API.md ("Pages"). */
  function verdict(checks) {
    var failed = checks.filter(function (c) {
      return !c.ok;
    })[0];
    return failed ? "Check failed: " + failed.name : "All checks passed";
  }

  window.LotteryVerify = {
    ALGORITHM: ALGORITHM,
    toHex: toHex,
    fromHex: fromHex,
    sha256Hex: sha256Hex,
    commitment: commitment,
    parseBallotsTxt: parseBallotsTxt,
    ballotsTxt: ballotsTxt,
    prizeSlots: prizeSlots,
    pickIndices: pickIndices,
    drawAll: drawAll,
    verifyProof: verifyProof,
    verdict: verdict,
  };

  // ---- the page ---------------------------------------------------------------------------

  /** Only same-origin URLs may be fetched (a test can point the page at a tampered proof). */
  function sameOrigin(url) {
    try {
      var resolved = new URL(url, window.location.href);
      return resolved.origin === window.location.origin ? resolved.href : null;
    } catch (error) {
      return null;
    }
  }

  function fetchOk(url, kind) {
    var target = sameOrigin(url);
    if (!target) return Promise.reject(new Error(kind + " URL must be on this site: " + url));
    return window.fetch(target, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (!response.ok) throw new Error("GET " + url + ": HTTP " + response.status);
      return response;
    });
  }

  function render(root, checks) {
    var list = root.querySelector("#checks");
    checks.forEach(function (c) {
      var item = list.querySelector('[data-check="' + c.name + '"]');
      if (!item) {
        item = document.createElement("li");
        item.className = "check";
        item.setAttribute("data-check", c.name);
        item.innerHTML =
          '<span class="check-icon" aria-hidden="true"></span><span class="check-body"><span class="check-name"></span>' +
          '<span class="check-state"></span><span class="check-detail"></span></span>';
        item.querySelector(".check-name").textContent = c.name;
        list.appendChild(item);
      }
      item.classList.remove("is-running");
      item.classList.add(c.ok ? "is-pass" : "is-fail");
      item.querySelector(".check-state").textContent = (c.ok ? "passed" : "failed") + " · " + c.name;
      item.querySelector(".check-detail").textContent = c.detail;
    });
    list.querySelectorAll(".check:not(.is-pass):not(.is-fail)").forEach(function (item) {
      item.querySelector(".check-state").textContent = "not run";
    });
    var result = root.querySelector("#verdict");
    var text = verdict(checks);
    result.textContent = text;
    result.classList.add(text === "All checks passed" ? "is-pass" : "is-fail");
    root.setAttribute("data-verdict", text === "All checks passed" ? "pass" : "fail");
  }

  function setupLookups(root, state) {
    var lookup = root.querySelector("#lookup-form");
    if (lookup && state.ids) {
      var positions = null;
      lookup.hidden = false;
      lookup.addEventListener("submit", function (event) {
        event.preventDefault();
        var raw = lookup.querySelector("#lookup-id").value.trim().replace(/^#/, "");
        var out = lookup.querySelector("#lookup-result");
        out.classList.remove("is-pass", "is-fail");
        if (!/^[1-9][0-9]*$/.test(raw)) {
          out.textContent = "Enter a ballot number (digits only).";
          out.classList.add("is-fail");
          return;
        }
        if (!positions) {
          positions = new Map();
          state.ids.forEach(function (id, index) {
            positions.set(id, index);
          });
        }
        if (positions.has(raw)) {
          out.textContent = "Ballot #" + raw + " is in the list (line " + (positions.get(raw) + 1) + " of " + state.ids.length + ").";
          out.classList.add("is-pass");
        } else {
          out.textContent = "Ballot #" + raw + " is NOT in this draw's list.";
          out.classList.add("is-fail");
        }
      });
    }
    var commit = root.querySelector("#commitment-form");
    if (commit && state.proof) {
      commit.hidden = false;
      commit.addEventListener("submit", function (event) {
        event.preventDefault();
        var value = commit.querySelector("#commitment-input").value.trim().toLowerCase();
        var out = commit.querySelector("#commitment-result");
        out.classList.remove("is-pass", "is-fail");
        var ok = value && value === state.proof.commitment;
        out.textContent = ok ? "It matches the commitment in the proof." : "It does NOT match the commitment in the proof.";
        out.classList.add(ok ? "is-pass" : "is-fail");
      });
    }
  }

  function run(root) {
    root.querySelectorAll(".check").forEach(function (item) {
      item.classList.add("is-running");
      item.querySelector(".check-state").textContent = "checking";
    });
    var state = { proof: null, ids: null };
    configuredBeacon = (root.getAttribute("data-beacon-url") || "").replace(/\/+$/, "");
    var proofUrl = root.getAttribute("data-proof-url");
    var ballotsUrl = root.getAttribute("data-ballots-url");
    Promise.all([
      fetchOk(proofUrl, "proof").then(function (r) {
        return r.json();
      }),
      fetchOk(ballotsUrl, "ballot list").then(function (r) {
        return r.arrayBuffer();
      }),
    ])
      .then(
        function (results) {
          state.proof = results[0];
          var bytes = new Uint8Array(results[1]);
          try {
            state.ids = parseBallotsTxt(bytes);
          } catch (error) {
            state.ids = null;
          }
          return verifyProof(results[0], bytes, { expectedDate: root.getAttribute("data-date") });
        },
        function (error) {
          return [check("fetch", false, error.message)];
        }
      )
      .then(function (checks) {
        render(root, checks);
        setupLookups(root, state);
      });
  }

  function start() {
    var root = document.getElementById("verifier");
    if (root && root.getAttribute("data-status") === "closed") run(root);
  }

  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
