/* In-browser verifier for algorithm lottery-draw-v1 (docs/fairness.md, "Verifying").
 *
 * Re-implements every check with WebCrypto (SHA-256, HMAC-SHA256) and BigInt, trusting
 * nothing but the published proof and ballots.txt. The check names and their order are
 * those of the `lottery verify` command, so both report the same "Check failed: NAME".
 * A beacon round counts only on a trusted chain: those the page ships (the JSON element
 * #trusted-chains, rendered from lottery/beacon_chains.py) or one the person verifying pastes;
 * its BLS signature is checked with the vendored @noble/curves (noble-bls12-381.js), and a
 * signature it cannot check fails (docs/beacon.md).
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
    // Winners name only their prize_rank: two prizes of one rank would leave it to the operator
    // which winner gets which.
    var ranks = new Set(table.map(function (entry) { return entry[0]; }));
    if (ranks.size !== table.length) throw new Error("prize ranks must be unique");
    table.sort(function (a, b) {
      return a[0] - b[0] || a[1] - b[1];
    });
    var slots = [];
    table.forEach(function (entry) {
      for (var k = 0; k < entry[1]; k++) slots.push({ slot: slots.length, prize_rank: entry[0] });
    });
    return slots;
  }

  /**
   * The drawing loop of docs/fairness.md: winning positions in the ballot list, in slot order.
   * `deadline` (optional, a Date.now() value): past it the loop stops and rejects. A hostile draw
   * with about as many slots as ballots takes millions of HMACs, and its chain of promises keeps
   * timers from running meanwhile, so the loop looks at the clock itself.
   */
  function pickIndices(seedHex, date, ballotDigest, beacon, ballotCount, slots, deadline) {
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
          if (deadline && Date.now() >= deadline) return Promise.reject(new Error("the drawing loop passed its deadline at counter " + counter));
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

  // ---- the checks, in docs/fairness.md order ----------------------------------------------

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

  // ---- closes_at: the midnight that ends D in the lottery's zone (docs/fairness.md) --------

  function parseTime(text) {
    return typeof text === "string" && /(Z|[+-][0-9]{2}:[0-9]{2})$/.test(text) ? Date.parse(text) : NaN;
  }

  /**
   * The UTC instant (ms) whose wall time in `zone` is D+1 00:00, or NaN: every offset from
   * -14 h to +14 h in 15-minute steps, largest first, so a repeated midnight gives its first
   * instant (as Python's zoneinfo does). Throws RangeError on a zone Intl does not know.
   */
  function midnightEnding(date, zone) {
    var nextDay = Date.parse(date + "T00:00:00Z") + 86400000;
    var format = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    var want = new Date(nextDay).toISOString().slice(0, 10) + " 00:00:00";
    for (var minutes = 14 * 60; minutes >= -14 * 60; minutes -= 15) {
      var instant = nextDay - minutes * 60000;
      var parts = {};
      format.formatToParts(new Date(instant)).forEach(function (part) {
        parts[part.type] = part.value;
      });
      var wall = parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute + ":" + parts.second;
      if (wall === want) return instant;
    }
    return NaN;
  }

  /** An operator free to choose closes_at would choose the planned beacon round. */
  function checkClosesAt(proof, zone) {
    var closes = parseTime(proof.closes_at);
    if (isNaN(closes)) return check("closes_at", false, "not an ISO 8601 time with offset: " + JSON.stringify(proof.closes_at));
    var midnight;
    try {
      midnight = midnightEnding(proof.date, zone);
    } catch (error) {
      return check("closes_at", false, "the lottery's time zone " + JSON.stringify(zone) + " is unknown to this browser");
    }
    var what = "the midnight that ends " + proof.date + " in " + zone;
    if (isNaN(midnight)) return check("closes_at", false, "no " + what);
    if (closes !== midnight) {
      return check("closes_at", false, "proof says " + proof.closes_at + ", " + what + " is " + new Date(midnight).toISOString());
    }
    return check("closes_at", true, new Date(midnight).toISOString() + ", " + what);
  }

  // ---- the beacon: trusted chains only (docs/beacon.md) -----------------------------------

  var CHAINED = "pedersen-bls-chained";
  // drand's schemes: which group the signature lives in, and the hash-to-curve tag.
  var SCHEMES = {
    "pedersen-bls-chained": { group: "G2", dst: "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_" },
    "pedersen-bls-unchained": { group: "G2", dst: "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_" },
    "bls-unchained-g1-rfc9380": { group: "G1", dst: "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_" },
  };
  var SPEC = /^([0-9a-f]{64}):((?:[0-9a-f]{2})+):([0-9]{1,12}):([0-9]{1,6}):([a-z0-9-]+)$/;

  /** A chain to trust: {name, hash, public_key, genesis_time, period, scheme}; throws if malformed. */
  function trustedChain(chain) {
    if (!chain || typeof chain.hash !== "string" || !HEX64.test(chain.hash)) throw new Error("chain hash must be 64 lowercase hex digits");
    if (typeof chain.public_key !== "string" || !HEX.test(chain.public_key)) throw new Error("public key must be lowercase hex");
    if (!isInt(chain.genesis_time) || chain.genesis_time < 0) throw new Error("genesis time must be a non-negative integer");
    if (!isInt(chain.period) || chain.period <= 0) throw new Error("period must be a positive integer");
    if (typeof chain.scheme !== "string" || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(chain.scheme)) throw new Error("not a drand scheme name");
    return {
      name: typeof chain.name === "string" && chain.name ? chain.name : "named explicitly",
      hash: chain.hash,
      public_key: chain.public_key,
      genesis_time: chain.genesis_time,
      period: chain.period,
      scheme: chain.scheme,
    };
  }

  /** What a person pastes to trust a chain: drand's /info JSON, or HASH:PUBKEY:GENESIS:PERIOD:SCHEME. */
  function parseChain(text) {
    var value = String(text || "").trim();
    var match = SPEC.exec(value);
    if (match) {
      return trustedChain({ hash: match[1], public_key: match[2], genesis_time: Number(match[3]), period: Number(match[4]), scheme: match[5] });
    }
    var info;
    try {
      info = JSON.parse(value);
    } catch (error) {
      throw new Error("expected a chain's /info JSON or HASH:PUBKEY:GENESIS:PERIOD:SCHEME");
    }
    if (!info || typeof info !== "object" || Array.isArray(info)) throw new Error("the chain info must be a JSON object");
    var beaconId = info.metadata && typeof info.metadata === "object" ? info.metadata.beaconID : "";
    return trustedChain({
      name: beaconId,
      hash: info.hash,
      public_key: info.public_key,
      genesis_time: info.genesis_time,
      period: info.period,
      scheme: info.schemeID,
    });
  }

  /** The shipped chains plus those named explicitly, by hash; a shipped hash keeps its key. */
  function trustedSet(shipped, extra) {
    var chains = Object.create(null); // a proof's "constructor" chain must not find Object's
    (shipped || []).forEach(function (chain) {
      chains[chain.hash] = trustedChain(chain);
    });
    (extra || []).forEach(function (chain) {
      var known = chains[chain.hash];
      if (known && (known.public_key !== chain.public_key || known.genesis_time !== chain.genesis_time || known.period !== chain.period || known.scheme !== chain.scheme)) {
        throw new Error("chain " + chain.hash + " is already trusted (" + known.name + ") with other parameters");
      }
      if (!known) chains[chain.hash] = trustedChain(chain);
    });
    return chains;
  }

  function roundBytes(round) {
    var view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt(round));
    return new Uint8Array(view.buffer);
  }

  /** Whether `signature` is round `round` of `chain`; throws "not verified: …" if it cannot tell. */
  function signatureValid(chain, round, signature, previousSignature) {
    var scheme = SCHEMES[chain.scheme];
    if (!scheme) return Promise.reject(new Error("scheme " + chain.scheme + " is not supported here"));
    var noble = window.NobleBls12381 && window.NobleBls12381.bls12_381;
    if (!noble) return Promise.reject(new Error("no BLS library loaded"));
    var prefix = new Uint8Array(0);
    if (chain.scheme === CHAINED) {
      if (!previousSignature) return Promise.reject(new Error("the chained scheme also signs the previous round's signature"));
      prefix = fromHex(previousSignature);
    }
    return subtle()
      .digest("SHA-256", concat(prefix, roundBytes(round)))
      .then(function (digest) {
        var suite = scheme.group === "G1" ? noble.shortSignatures : noble.longSignatures;
        try {
          return suite.verify(fromHex(signature), suite.hash(new Uint8Array(digest), scheme.dst), fromHex(chain.public_key));
        } catch (error) {
          return false; // not a point of the curve: no valid signature
        }
      });
  }

  function checkBeacon(beacon, trusted, previous) {
    previous = previous || {};
    if (beacon === null || beacon === undefined) return Promise.resolve(check("beacon", true, "no beacon"));
    if (typeof beacon !== "object" || Array.isArray(beacon)) {
      return Promise.resolve(check("beacon", false, "beacon must be null or an object"));
    }
    var fail = function (detail) {
      return Promise.resolve(check("beacon", false, detail));
    };
    if (typeof beacon.source !== "string" || !beacon.source) return fail("beacon source missing");
    if (typeof beacon.chain !== "string" || !HEX.test(beacon.chain)) return fail("beacon chain hash missing or not lowercase hex");
    if (!isInt(beacon.round) || beacon.round < 1 || beacon.round > Number.MAX_SAFE_INTEGER) {
      return fail("beacon round must be a positive 64-bit integer");
    }
    if (typeof beacon.signature !== "string" || !HEX.test(beacon.signature)) return fail("beacon signature missing or not lowercase hex");
    if (typeof beacon.randomness !== "string" || !HEX64.test(beacon.randomness)) {
      return fail("beacon randomness missing or not 64 lowercase hex digits");
    }
    var chain = (trusted || {})[beacon.chain];
    if (!chain) {
      return fail(
        "chain " + beacon.chain + " not trusted: the operator names it, but only a chain the verifier already trusts can vouch for a round"
      );
    }
    var round = beacon.round;
    return sha256Hex(fromHex(beacon.signature)).then(function (digest) {
      if (digest !== beacon.randomness) return check("beacon", false, "round " + round + ": randomness is not SHA-256 of signature");
      return signatureValid(chain, round, beacon.signature, previous.signature).then(
        function (valid) {
          if (!valid) return check("beacon", false, "round " + round + ": BLS signature does NOT verify against the public key of chain " + chain.name);
          return check(
            "beacon",
            true,
            "round " + round + " of chain " + chain.name + " (" + chain.scheme + "): BLS signature verified against its trusted public key, randomness is SHA-256 of it"
          );
        },
        function (error) {
          var problem = chain.scheme === CHAINED && !previous.signature && previous.problem ? " (" + previous.problem + ")" : "";
          return check("beacon", false, "round " + round + ": signature not verified: " + error.message + problem);
        }
      );
    });
  }

  /** The round is the first due at least 30 s after closes_at, by the TRUSTED chain's timing. */
  function checkBeaconRound(proof, trusted) {
    var beacon = proof.beacon;
    if (beacon === null || beacon === undefined) return check("beacon_round", true, "no beacon");
    if (typeof beacon !== "object" || Array.isArray(beacon)) return check("beacon_round", false, "not checked: no beacon object");
    var chain = typeof beacon.chain === "string" ? (trusted || {})[beacon.chain] : null;
    if (!chain) return check("beacon_round", false, "not checked: the beacon's chain is not trusted");
    if (!isInt(beacon.round)) return check("beacon_round", false, "not checked: beacon round is " + JSON.stringify(beacon.round));
    var text = proof.closes_at;
    var closes = parseTime(text) / 1000;
    if (isNaN(closes)) return check("beacon_round", false, "closes_at is not an ISO 8601 time with offset: " + JSON.stringify(text));
    var earliest = Math.floor(closes) + 30;
    var planned = earliest <= chain.genesis_time ? 1 : Math.ceil((earliest - chain.genesis_time) / chain.period) + 1;
    var due = chain.genesis_time + (beacon.round - 1) * chain.period;
    if (beacon.round !== planned) {
      return check("beacon_round", false, "round " + beacon.round + " used, round " + planned + " is the first due 30 s after closes_at");
    }
    if (due < closes + 30) return check("beacon_round", false, "round " + beacon.round + " was due before closes_at + 30 s");
    return check("beacon_round", true, "round " + beacon.round + " is the planned round, due " + new Date(due * 1000).toISOString());
  }

  function sameWinner(want, got) {
    if (!got || typeof got !== "object") return false;
    return WINNER_FIELDS.every(function (field) {
      return isInt(got[field]) && String(got[field]) === String(want[field]);
    });
  }

  /** A winner's field that JSON.parse could not read exactly (past 2**53 numbers round), if any. */
  function inexactField(got) {
    if (!got || typeof got !== "object") return null;
    return WINNER_FIELDS.filter(function (field) {
      return typeof got[field] === "number" && !Number.isSafeInteger(got[field]);
    })[0] || null;
  }

  function checkWinners(proof, ids, deadline) {
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
    return pickIndices(proof.seed, proof.date, proof.ballot_digest, beacon, ids.length, slots, deadline).then(function (picks) {
      var expected = picks.map(function (p) {
        return { slot: p.slot, prize_rank: p.prize_rank, ballot_id: ids[p.index], index: p.index, counter: p.counter };
      });
      var published = proof.winners;
      if (!Array.isArray(published)) return check("winners", false, "winners must be a list");
      for (var i = 0; i < Math.min(expected.length, published.length); i++) {
        var inexact = inexactField(published[i]);
        if (inexact) {
          // 9007199254740993 reads as 9007199254740992: the page cannot tell which ballot the proof names.
          return check("winners", false, "winner " + i + ": its " + inexact + " is past 2^53, which this page cannot read exactly: check this draw with lottery verify");
        }
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

  /**
   * Every check of docs/fairness.md on a proof and the ballots.txt bytes; never rejects.
   * options.trusted: the trusted chains by hash (default: those this page ships);
   * options.zone: the lottery's IANA time zone (default: the one the page states);
   * options.previous: {signature, problem}, a chained round's previous signature or why there is none;
   * options.deadline: a Date.now() value past which re-running the draw stops.
   */
  function verifyProof(proof, ballots, options) {
    options = options || {};
    if (!proof || typeof proof !== "object" || Array.isArray(proof)) proof = {};
    var checks = [];
    var trusted = options.trusted || trustedSet(shippedChains(), []);

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

    checks.push(blocked(checks, "closes_at", ["date"]) || checkClosesAt(proof, options.zone || lotteryZone()));

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
        return checkBeacon(proof.beacon, trusted, options.previous);
      })
      .then(function (beaconCheck) {
        checks.push(beaconCheck);
        var roundStop = proof.beacon === null || proof.beacon === undefined ? null : blocked(checks, "beacon_round", ["closes_at"]);
        checks.push(roundStop || checkBeaconRound(proof, trusted));
        var stop = blocked(checks, "winners", WINNERS_NEED);
        return stop || checkWinners(proof, ids || [], options.deadline);
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

  /** The exact verdict texts of docs/api.md ("Pages"). */
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
    midnightEnding: midnightEnding,
    parseChain: parseChain,
    trustedSet: trustedSet,
    shippedChains: shippedChains,
    signatureValid: signatureValid,
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

  var MAX_PROOF_BYTES = 64 * 1024;
  var MAX_ROUND_BYTES = 16 * 1024;
  var MAX_BALLOT_LINE = 20; // a 64-bit id has at most 19 digits, plus its newline
  var MAX_BALLOTS = 20000000;
  var MAX_JSON_DEPTH = 16;
  var DEADLINE_MS = 60000;

  /** The lottery's time zone, as the service states it (rendered into the page). */
  function lotteryZone() {
    var element = document.getElementById("lottery-timezone");
    return element ? JSON.parse(element.textContent) : "Europe/Amsterdam";
  }

  /** The chains this page ships (lottery/beacon_chains.py, rendered into the page). */
  function shippedChains() {
    var element = document.getElementById("trusted-chains");
    return element ? JSON.parse(element.textContent) : [];
  }

  /** The body of `response`, at most `limit` bytes (a hostile answer must not fill memory). */
  function readLimited(response, limit, url) {
    var tooLong = function () {
      return new Error("GET " + url + ": answer longer than the " + limit + " bytes allowed");
    };
    if (Number(response.headers.get("Content-Length")) > limit) return Promise.reject(tooLong());
    if (!response.body) return Promise.resolve(new Uint8Array(0));
    var reader = response.body.getReader();
    var parts = [];
    var size = 0;
    function pump() {
      return reader.read().then(function (step) {
        if (step.done) {
          var all = new Uint8Array(size);
          parts.reduce(function (offset, part) {
            all.set(part, offset);
            return offset + part.length;
          }, 0);
          return all;
        }
        size += step.value.length;
        if (size > limit) {
          reader.cancel();
          throw tooLong();
        }
        parts.push(step.value);
        return pump();
      });
    }
    return pump();
  }

  function tooDeep(value) {
    var stack = [[value, 1]];
    while (stack.length) {
      var top = stack.pop();
      if (top[0] && typeof top[0] === "object") {
        if (top[1] > MAX_JSON_DEPTH) return true;
        Object.keys(top[0]).forEach(function (key) {
          stack.push([top[0][key], top[1] + 1]);
        });
      }
    }
    return false;
  }

  function readJson(response, limit, url) {
    return readLimited(response, limit, url).then(function (bytes) {
      var value = JSON.parse(new TextDecoder().decode(bytes));
      if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("GET " + url + ": not a JSON object");
      if (tooDeep(value)) throw new Error("GET " + url + ": JSON nested deeper than " + MAX_JSON_DEPTH + " levels");
      return value;
    });
  }

  function fetchOk(url, kind, signal) {
    var target = sameOrigin(url);
    if (!target) return Promise.reject(new Error(kind + " URL must be on this site: " + url));
    return window.fetch(target, { credentials: "same-origin", cache: "no-store", signal: signal }).then(function (response) {
      if (!response.ok) throw new Error("GET " + url + ": HTTP " + response.status);
      return response;
    });
  }

  /**
   * A chained round also signs the previous round's signature: read it from the lottery's
   * configured drand relay (the only one this page's CSP lets it contact). The relay needs no
   * trust: a wrong answer only makes the signature fail against the trusted key.
   */
  function previousSignature(proof, trusted, relay, signal) {
    var beacon = proof.beacon;
    var chain = beacon && typeof beacon === "object" && typeof beacon.chain === "string" ? trusted[beacon.chain] : null;
    if (!chain || chain.scheme !== CHAINED || !isInt(beacon.round)) return Promise.resolve({});
    if (!relay) return Promise.resolve({ problem: "this page may only contact the lottery's drand relay, and none is configured: check it with lottery verify" });
    var url = relay + "/" + chain.hash + "/public/" + beacon.round;
    return window
      .fetch(url, { cache: "no-store", credentials: "omit", signal: signal })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return readJson(response, MAX_ROUND_BYTES, url);
      })
      .then(function (published) {
        var previous = published.previous_signature;
        if (published.round !== beacon.round || typeof previous !== "string" || !HEX.test(previous)) {
          return { problem: "GET " + url + ": no previous_signature of round " + beacon.round };
        }
        return { signature: previous };
      })
      .catch(function (error) {
        if (signal.aborted) throw error;
        return { problem: "GET " + url + ": " + error.message };
      });
  }

  function render(root, checks) {
    var list = root.querySelector("#checks");
    list.querySelectorAll(".check").forEach(function (item) {
      item.classList.remove("is-running", "is-pass", "is-fail");
    });
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
    result.classList.remove("is-pass", "is-fail");
    result.classList.add(text === "All checks passed" ? "is-pass" : "is-fail");
    root.setAttribute("data-verdict", text === "All checks passed" ? "pass" : "fail");
  }

  function setupLookups(root, state) {
    // Once: a second run (trusting another chain) re-reads the same published files.
    if (root.hasAttribute("data-lookups")) return;
    root.setAttribute("data-lookups", "");
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

  function deadlineCheck(what) {
    return check("deadline", false, "verification did not finish within " + DEADLINE_MS / 1000 + " s (" + what + ")");
  }

  function run(root, extraChains) {
    root.querySelectorAll(".check").forEach(function (item) {
      item.classList.remove("is-pass", "is-fail");
      item.classList.add("is-running");
      item.querySelector(".check-state").textContent = "checking";
    });
    var result = root.querySelector("#verdict");
    result.textContent = "";
    root.removeAttribute("data-verdict");
    var state = { proof: null, ids: null };
    var relay = (root.getAttribute("data-beacon-url") || "").replace(/\/+$/, "");
    var proofUrl = root.getAttribute("data-proof-url");
    var ballotsUrl = root.getAttribute("data-ballots-url");
    // One deadline for every download and the re-run of the draw together, as `lottery verify --timeout`.
    var deadline = Date.now() + DEADLINE_MS;
    var controller = new AbortController();
    var timer = window.setTimeout(function () {
      controller.abort();
    }, DEADLINE_MS);
    var trusted;
    var proof;
    Promise.resolve()
      .then(function () {
        trusted = trustedSet(shippedChains(), extraChains);
        return fetchOk(proofUrl, "proof", controller.signal);
      })
      .then(function (response) {
        return readJson(response, MAX_PROOF_BYTES, proofUrl);
      })
      .then(function (value) {
        proof = value;
        var count = proof.ballot_count;
        if (!isInt(count) || count < 0 || count > MAX_BALLOTS) {
          throw new Error("the proof's ballot_count is " + JSON.stringify(count) + ", not a number of ballots: ballots.txt not downloaded");
        }
        return Promise.all([
          fetchOk(ballotsUrl, "ballot list", controller.signal).then(function (response) {
            return readLimited(response, count * MAX_BALLOT_LINE + 1024, ballotsUrl);
          }),
          previousSignature(proof, trusted, relay, controller.signal),
        ]);
      })
      .then(
        function (results) {
          window.clearTimeout(timer);
          state.proof = proof;
          var bytes = results[0];
          try {
            state.ids = parseBallotsTxt(bytes);
          } catch (error) {
            state.ids = null;
          }
          var options = { expectedDate: root.getAttribute("data-date"), trusted: trusted, previous: results[1], deadline: deadline };
          return verifyProof(proof, bytes, options).then(function (checks) {
            return Date.now() >= deadline ? [deadlineCheck("re-running the draw was under way")] : checks;
          });
        },
        function (error) {
          window.clearTimeout(timer);
          if (controller.signal.aborted) return [deadlineCheck("a download was under way")];
          return [check("fetch", false, error.message)];
        }
      )
      .then(function (checks) {
        render(root, checks);
        setupLookups(root, state);
      });
  }

  /** Trusting one more chain, named by the person verifying, and verifying again. */
  function setupTrustForm(root) {
    var form = root.querySelector("#trust-form");
    if (!form) return;
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var out = form.querySelector("#trust-result");
      out.classList.remove("is-pass", "is-fail");
      var chain;
      try {
        chain = parseChain(form.querySelector("#trust-chain").value);
      } catch (error) {
        out.textContent = "Not a chain: " + error.message;
        out.classList.add("is-fail");
        return;
      }
      out.textContent = "Verifying again, also trusting chain " + chain.hash + ".";
      run(root, [chain]);
    });
  }

  function start() {
    var root = document.getElementById("verifier");
    if (root && root.getAttribute("data-status") === "closed") {
      setupTrustForm(root);
      run(root, []);
    }
  }

  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
