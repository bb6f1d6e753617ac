// search.js fills in the search page (search/index.html). Where the site is served by
// `marketplace serve`, it asks the server (../api/search, bleve). On a plain static host it
// searches in the browser over the compact index that `marketplace build` writes
// (../api/v1/search.json and its shards), with the same analysis (Unicode words, possessives,
// lower case, English stop words, Porter stems), the same query syntax, the same expansion of
// words (prefixes, typos) and the same TF-IDF scoring as bleve, so both rank alike; see
// package generator/search. No dependencies; it loads only the shards a query needs.
(function () {
  'use strict';

  // ---- analysis: bleve's "en" analyzer -------------------------------------------------

  var STOP = new Set(('a about above after again against all am an and any are aren\'t as at be because been before ' +
    'being below between both but by can\'t cannot could couldn\'t did didn\'t do does doesn\'t doing don\'t down ' +
    'during each few for from further had hadn\'t has hasn\'t have haven\'t having he he\'d he\'ll he\'s her here ' +
    'here\'s hers herself him himself his how how\'s i i\'d i\'ll i\'m i\'ve if in into is isn\'t it it\'s its itself ' +
    'let\'s me more most mustn\'t my myself no nor not of off on once only or other ought our ours ourselves out ' +
    'over own same shan\'t she she\'d she\'ll she\'s should shouldn\'t so some such than that that\'s the their ' +
    'theirs them themselves then there there\'s these they they\'d they\'ll they\'re they\'ve this those through to ' +
    'too under until up very was wasn\'t we we\'d we\'ll we\'re we\'ve were weren\'t what what\'s when when\'s where ' +
    'where\'s which while who who\'s whom why why\'s with won\'t would wouldn\'t you you\'d you\'ll you\'re you\'ve ' +
    'your yours yourself yourselves').split(' '));

  // Word boundaries: the rules of blevesearch/segment (Unicode UAX #29), by character class. A
  // word is a run of letters, digits and connectors ('_'), where one ':', '.' or apostrophe
  // between two letters, or one ',', ';', '.' or apostrophe between two digits, does not break
  // it. Combining marks stay with the character before them; each Han or Hiragana character is
  // a word; Katakana runs are words.
  var C_OTHER = 0, C_LETTER = 1, C_DIGIT = 2, C_UNDER = 3, C_MIDLETTER = 4, C_MIDNUM = 5, C_MIDBOTH = 6,
    C_EXTEND = 7, C_IDEO = 8, C_KATAKANA = 9;
  var MIDLETTER = new Set([0x3A, 0xB7, 0x2D7, 0x387, 0x5F4, 0x2027, 0xFE13, 0xFE55, 0xFF1A]);
  var MIDBOTH = new Set([0x2E, 0x27, 0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E]);
  var MIDNUM = new Set([0x2C, 0x3B, 0x37E, 0x589, 0x60C, 0x60D, 0x66C, 0x7F8, 0x2044, 0xFE10, 0xFE14, 0xFE50, 0xFE54, 0xFF0C, 0xFF1B]);
  function charClass(ch) {
    var c = ch.codePointAt(0);
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) return C_LETTER;
    if (c >= 48 && c <= 57) return C_DIGIT;
    if (c === 95) return C_UNDER;
    if (MIDLETTER.has(c)) return C_MIDLETTER;
    if (MIDBOTH.has(c)) return C_MIDBOTH;
    if (MIDNUM.has(c)) return C_MIDNUM;
    if (c < 128) return C_OTHER;
    if (/\p{Pc}/u.test(ch)) return C_UNDER;
    if (/[\p{M}\p{Cf}]/u.test(ch)) return C_EXTEND;
    if (/[\p{Script=Han}\p{Script=Hiragana}]/u.test(ch)) return C_IDEO;
    if (/\p{Script=Katakana}/u.test(ch)) return C_KATAKANA;
    if (/\p{L}/u.test(ch)) return C_LETTER;
    if (c >= 0xFF10 && c <= 0xFF19) return C_OTHER; // fullwidth digits are not UAX #29 numerals
    if (/\p{Nd}/u.test(ch)) return C_DIGIT;
    return C_OTHER;
  }
  function joinsNext(a, b) { // two word characters side by side
    if (a === C_IDEO || b === C_IDEO) return false;
    if (a === C_UNDER || b === C_UNDER) return true;
    if (a === C_KATAKANA || b === C_KATAKANA) return a === b;
    return true;
  }

  // tokenize returns the words of text with their UTF-16 offsets and positions.
  function tokenize(text) {
    // Units: a character with the marks that follow it.
    var units = [], off = 0;
    for (var ch of text) {
      var k = charClass(ch);
      if (k === C_EXTEND && units.length) units[units.length - 1].end += ch.length;
      else units.push({ cls: k === C_EXTEND ? C_OTHER : k, start: off, end: off + ch.length });
      off += ch.length;
    }
    var n = units.length, out = [], pos = 1, i = 0;
    var cls = function (k) { return k < 0 || k >= n ? C_OTHER : units[k].cls; };
    var isWord = function (k) { return k === C_LETTER || k === C_DIGIT || k === C_UNDER || k === C_IDEO || k === C_KATAKANA; };
    while (i < n) {
      if (!isWord(cls(i))) { i++; continue; }
      var start = i;
      i++;
      while (i < n) {
        var c = cls(i), prev = cls(i - 1);
        if (isWord(c)) {
          if (!joinsNext(prev, c)) break;
          i++;
          continue;
        }
        var next = cls(i + 1);
        var joins = (prev === C_LETTER && next === C_LETTER && (c === C_MIDLETTER || c === C_MIDBOTH)) ||
          (prev === C_DIGIT && next === C_DIGIT && (c === C_MIDNUM || c === C_MIDBOTH));
        if (!joins) break;
        i += 2;
      }
      out.push({ text: text.slice(units[start].start, units[i - 1].end), start: units[start].start, end: units[i - 1].end, pos: pos++ });
    }
    return out;
  }

  // Porter stemmer: blevesearch/go-porterstemmer, step by step, on arrays of code points.
  function isCons(s, i) {
    var c = s[i];
    if (c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u') return false;
    if (c === 'y') return i === 0 ? true : !isCons(s, i - 1);
    return true;
  }
  function measure(s) {
    var n = s.length, r = 0, i = 0;
    if (n === 0) return 0;
    while (isCons(s, i)) { i++; if (i >= n) return r; }
    outer: while (i < n) {
      while (!isCons(s, i)) { i++; if (i >= n) break outer; }
      while (isCons(s, i)) { i++; if (i >= n) { r++; break outer; } }
      r++;
    }
    return r;
  }
  function ends(s, suf) {
    var n = s.length, k = suf.length;
    if (n <= k) return false;
    for (var i = 0; i < k; i++) if (s[n - k + i] !== suf[i]) return false;
    return true;
  }
  function hasVowel(s) { for (var i = 0; i < s.length; i++) if (!isCons(s, i)) return true; return false; }
  function doubleCons(s) { var n = s.length; return n >= 2 && s[n - 1] === s[n - 2] && isCons(s, n - 1); }
  function cvc(s) { var n = s.length; return n >= 3 && isCons(s, n - 3) && !isCons(s, n - 2) && isCons(s, n - 1); }
  function withE(s) { return s.concat(['e']); }
  function step1a(s) {
    var n = s.length;
    if (ends(s, 'sses')) return s.slice(0, n - 2);
    if (ends(s, 'ies')) return s.slice(0, n - 2);
    if (ends(s, 'ss')) return s;
    if (ends(s, 's')) return s.slice(0, n - 1);
    return s;
  }
  function step1bRest(s, sub, ing) {
    var c = sub[sub.length - 1];
    if (ends(sub, 'at') || ends(sub, 'bl') || ends(sub, 'iz')) return withE(sub);
    if (c !== 'l' && c !== 's' && c !== 'z' && doubleCons(sub)) return sub.slice(0, sub.length - 1);
    if (measure(sub) === 1 && cvc(sub) && c !== 'w' && c !== 'x' && c !== 'y') return withE(sub);
    return sub;
  }
  function step1b(s) {
    var n = s.length, sub;
    if (ends(s, 'eed')) {
      return measure(s.slice(0, n - 3)) > 0 ? s.slice(0, n - 1) : s;
    } else if (ends(s, 'ed')) {
      sub = s.slice(0, n - 2);
      return hasVowel(sub) ? step1bRest(s, sub, false) : s;
    } else if (ends(s, 'ing')) {
      sub = s.slice(0, n - 3);
      return hasVowel(sub) ? step1bRest(s, sub, true) : s;
    }
    return s;
  }
  function step1c(s) {
    var n = s.length;
    if (n < 2) return s;
    if (s[n - 1] === 'y' && hasVowel(s.slice(0, n - 1))) return s.slice(0, n - 1).concat(['i']);
    if (s[n - 1] === 'Y' && hasVowel(s.slice(0, n - 1))) return s.slice(0, n - 1).concat(['I']);
    return s;
  }
  // Each rule: suffix, replacement; the first suffix that matches decides, whatever the measure.
  var STEP2 = [['ational', 'ate'], ['tional', 'tion'], ['enci', 'ence'], ['anci', 'ance'], ['izer', 'ize'],
    ['bli', 'ble'], ['alli', 'al'], ['entli', 'ent'], ['eli', 'e'], ['ousli', 'ous'], ['ization', 'ize'],
    ['ation', 'ate'], ['ator', 'ate'], ['alism', 'al'], ['iveness', 'ive'], ['fulness', 'ful'],
    ['ousness', 'ous'], ['aliti', 'al'], ['iviti', 'ive'], ['biliti', 'ble'], ['logi', 'log']];
  var STEP3 = [['icate', 'ic'], ['ative', ''], ['alize', 'al'], ['iciti', 'ic'], ['ical', 'ic'], ['ful', ''], ['ness', '']];
  function replaceStep(s, rules) {
    for (var r = 0; r < rules.length; r++) {
      var suf = rules[r][0];
      if (ends(s, suf)) {
        var stem = s.slice(0, s.length - suf.length);
        return measure(stem) > 0 ? stem.concat(Array.from(rules[r][1])) : s;
      }
    }
    return s;
  }
  var STEP4 = ['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'ion', 'ou',
    'ism', 'ate', 'iti', 'ous', 'ive', 'ize'];
  function step4(s) {
    for (var r = 0; r < STEP4.length; r++) {
      var suf = STEP4[r];
      if (ends(s, suf)) {
        var sub = s.slice(0, s.length - suf.length);
        var ok = measure(sub) > 1;
        if (suf === 'ion') { var c = sub[sub.length - 1]; ok = ok && (c === 's' || c === 't'); }
        return ok ? sub : s;
      }
    }
    return s;
  }
  function step5a(s) {
    var n = s.length;
    if (n > 0 && s[n - 1] === 'e') {
      var sub = s.slice(0, n - 1), m = measure(sub);
      if (m > 1) return sub;
      if (m === 1) {
        var c = sub[sub.length - 1];
        if (!(cvc(sub) && c !== 'w' && c !== 'x' && c !== 'y')) return sub;
      }
    }
    return s;
  }
  function step5b(s) {
    var n = s.length;
    if (n > 2 && s[n - 2] === 'l' && s[n - 1] === 'l' && measure(s.slice(0, n - 1)) > 1) return s.slice(0, n - 1);
    return s;
  }
  function stem(word) {
    var s = Array.from(word);
    if (s.length <= 2) return word;
    s = step5b(step5a(step4(replaceStep(replaceStep(step1c(step1b(step1a(s))), STEP2), STEP3))));
    return s.join('');
  }

  function lower(word) {
    var out = '';
    for (var ch of word) {
      var l = ch.toLowerCase();
      out += Array.from(l).length > 1 ? ch : l;
    }
    return out;
  }
  // term returns what the analyzer makes of one word, or null for a stop word.
  function term(word) {
    var cs = Array.from(word), n = cs.length;
    if (n >= 2 && (cs[n - 1] === 's' || cs[n - 1] === 'S') && (cs[n - 2] === '\u2019' || cs[n - 2] === "'" || cs[n - 2] === '\uff07')) {
      word = cs.slice(0, n - 2).join('');
    }
    word = lower(word);
    if (STOP.has(word)) return null;
    return stem(word);
  }
  // analyze returns the terms of text with their offsets and positions.
  function analyze(text) {
    var out = [];
    tokenize(text).forEach(function (t) {
      var x = term(t.text);
      if (x !== null) out.push({ term: x, start: t.start, end: t.end, pos: t.pos });
    });
    return out;
  }
  function terms(text) { return analyze(text).map(function (t) { return t.term; }); }

  // ---- query syntax: the same lexer and parser as generator/search/query.go --------------

  var SHOULD = 0, MUST = 1, MUST_NOT = 2;
  var KIND_TERMS = 0, KIND_PHRASE = 1, KIND_KEYWORD = 2;
  var MIN_BOOST = 1e-3;

  function isSpace(c) { return c === ' ' || c === '\t' || c === '\n' || c === '\r'; }
  function isLetter(c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

  // Bounds of a query, as in query.go: longer queries or more clauses are refused.
  var MAX_QUERY_BYTES = 1024, MAX_QUERY_CLAUSES = 32, MAX_QUERY_WORDS = 64, MAX_REGEXP_BYTES = 256;

  // QueryError is a malformed or oversized query; its message is the server's (query.go).
  function QueryError(col, msg) {
    var e = new Error(col ? 'query:1:' + col + ': ' + msg : 'query: ' + msg);
    e.queryError = true;
    return e;
  }
  function byteLen(s) { return new TextEncoder().encode(s).length; }

  function lex(q, isField) {
    var out = [], i = 0, n = q.length;
    if (byteLen(q) > MAX_QUERY_BYTES) throw QueryError(0, 'the query is ' + byteLen(q) + ' bytes long, the most is ' + MAX_QUERY_BYTES);
    while (i < n) {
      while (i < n && isSpace(q[i])) i++;
      if (i >= n) break;
      if (out.length === MAX_QUERY_CLAUSES) throw QueryError(byteLen(q.slice(0, i)) + 1, 'more than ' + MAX_QUERY_CLAUSES + ' clauses; use fewer words');
      var t = { occur: SHOULD, field: '', text: '', quoted: false, regex: false, boost: 1, fuzzy: -1, pattern: false };
      if (q[i] === '+') { t.occur = MUST; i++; } else if (q[i] === '-') { t.occur = MUST_NOT; i++; }
      var j = i;
      while (j < n && (isLetter(q[j]) || q[j] === '_')) j++;
      if (j < n && q[j] === ':' && j > i && isField(q.slice(i, j))) { t.field = q.slice(i, j); i = j + 1; }
      var b = '';
      if (i < n && q[i] === '"') {
        var open = i;
        i++;
        while (i < n && q[i] !== '"') {
          if (q[i] === '\\' && i + 1 < n) i++;
          b += q[i]; i++;
        }
        if (i >= n) throw QueryError(byteLen(q.slice(0, open)) + 1, 'unterminated phrase: add the closing "');
        i++;
        t.text = b; t.quoted = true;
      } else if (i < n && q[i] === '/' && q.indexOf('/', i + 1) >= 0) {
        var end = q.indexOf('/', i + 1);
        t.text = q.slice(i + 1, end); t.regex = true;
        if (byteLen(t.text) > MAX_REGEXP_BYTES) throw QueryError(byteLen(q.slice(0, i)) + 1, 'the regular expression is ' + byteLen(t.text) + ' bytes long, the most is ' + MAX_REGEXP_BYTES);
        if (!regexOf(t.text)) throw QueryError(byteLen(q.slice(0, i)) + 1, 'invalid regular expression /' + t.text + '/');
        i = end + 1;
      } else {
        while (i < n && !isSpace(q[i])) {
          var c = q[i];
          if (c === '\\' && i + 1 < n) { b += q[i + 1]; i += 2; continue; }
          if (c === '*' || c === '?') t.pattern = true;
          b += c; i++;
        }
        t.text = b;
      }
      for (;;) {
        var m = !t.quoted && !t.regex && /[\^~][0-9]*(\.[0-9]+)?$/.exec(t.text);
        if (m) { t.text = t.text.slice(0, t.text.length - m[0].length); applySuffix(t, m[0]); continue; }
        if ((t.quoted || t.regex) && i < n && (q[i] === '^' || q[i] === '~')) {
          var k = i + 1;
          while (k < n && ((q[k] >= '0' && q[k] <= '9') || q[k] === '.')) k++;
          applySuffix(t, q.slice(i, k)); i = k;
          continue;
        }
        break;
      }
      if (t.text === '' && !t.quoted) continue;
      out.push(t);
    }
    return out;
  }
  function applySuffix(t, s) {
    var v = s.slice(1);
    if (s[0] === '^') {
      var bo = v === '' ? NaN : Number(v);
      if (!isNaN(bo) && bo >= 0) t.boost *= bo;
    } else {
      var d = /^[0-9]+$/.test(v) ? parseInt(v, 10) : 1;
      t.fuzzy = Math.min(Math.max(d, 0), 2);
    }
  }

  function runeLen(s) { return Array.from(s).length; }
  function cmpStr(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  // osa is the optimal string alignment distance, or limit+1 once it exceeds limit.
  function osa(a, b, limit) {
    var prev2 = new Array(b.length + 1).fill(0), prev = new Array(b.length + 1), cur = new Array(b.length + 1), i, j;
    for (j = 0; j <= b.length; j++) prev[j] = j;
    for (i = 1; i <= a.length; i++) {
      cur[0] = i;
      var rowMin = cur[0];
      for (j = 1; j <= b.length; j++) {
        var cost = a[i - 1] === b[j - 1] ? 0 : 1;
        var v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
        cur[j] = v;
        rowMin = Math.min(rowMin, v);
      }
      if (rowMin > limit) return limit + 1;
      var tmp = prev2; prev2 = prev; prev = cur; cur = tmp;
    }
    return prev[b.length];
  }

  function wildcardRE(p) {
    var s = '^';
    for (var ch of p) s += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.*+?^${}()|[\]\\\/-]/g, '\\$&');
    return new RegExp(s + '$', 'u');
  }
  function regexOf(src) {
    try { return new RegExp('^(?:' + src + ')$', 'u'); } catch (e) { return null; }
  }

  // ---- the compact index ----------------------------------------------------------------

  var DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_';
  var DIGIT = {};
  for (var di = 0; di < DIGITS.length; di++) DIGIT[DIGITS[di]] = di;
  function varints(s) {
    var out = [], v = 0, shift = 0;
    for (var i = 0; i < s.length; i++) {
      var d = DIGIT[s[i]];
      v += (d & 31) * Math.pow(2, shift);
      if (d < 32) { out.push(v); v = 0; shift = 0; } else shift += 5;
    }
    return out;
  }
  function docSet(s, n) {
    var out = [], i;
    if (s[0] === '!') { // every document but those listed
      var missing = docSet(s.slice(1), n), k = 0;
      for (i = 0; i < n; i++) { if (k < missing.length && missing[k] === i) k++; else out.push(i); }
      return out;
    }
    if (s[0] === '~') {
      for (i = 1; i < s.length; i++) {
        var bits = DIGIT[s[i]];
        for (var b = 0; b < 6; b++) if (bits & (1 << b)) out.push((i - 1) * 6 + b);
      }
      return out;
    }
    var gaps = varints(s), prev = 0;
    for (i = 0; i < gaps.length; i++) { prev += gaps[i]; out.push(prev); }
    return out;
  }

  function StaticIndex(url) {
    this.url = url;
    this.files = {};
    this.postings = {};   // term → [per field {docs, tfs, lens}] | null; or a common term's "@" reference
    this.shardTerms = {}; // shard index → terms
    this.heads = {};      // common term → its head, loaded (see loadHeads)
    this.stats = { bounded: 0, exhaustive: 0, rows: 0, blocks: 0 }; // searches each way, rows and blocks fetched (for tests)
    this.maxRows = MAX_ROWS;
  }
  StaticIndex.prototype.load = function () {
    var self = this;
    if (!this.ready) {
      this.ready = fetchJSON(this.url).then(function (m) {
        if (m.schema !== 4) throw new Error('search index schema ' + m.schema + ' is not supported');
        self.m = m;
        self.fieldIndex = {};
        m.fields.forEach(function (f, i) { self.fieldIndex[f] = i; });
        self.boosts = {};
        m.fields.forEach(function (f, i) { self.boosts[f] = m.boosts[i]; });
        return m;
      });
    }
    return this.ready;
  };
  StaticIndex.prototype.file = function (name) {
    if (!this.files[name]) {
      var inl = this.m.inline && this.m.inline[name];
      this.files[name] = inl ? Promise.resolve(inl) : fetchJSON(new URL('search/' + name, this.url).href);
    }
    return this.files[name];
  };
  // hashedName returns the name of the file whose hash is the n-th in list: shards are named by
  // a hash of their content, and the manifest (or a directory file) lists the hashes.
  var HASH_LEN = 12;
  StaticIndex.prototype.hashedName = function (prefix, list, n) {
    return prefix + '-' + list.slice(n * HASH_LEN, (n + 1) * HASH_LEN) + '.json';
  };
  // A document directory lists, for each of its document shards, the shard's hash and the hash
  // of its common terms' postings (x-*.json), or dashes when it has none.
  var NO_SHARD = new Array(HASH_LEN + 1).join('-');
  function docFile(dir, k) { return 'd-' + dir.slice(2 * k * HASH_LEN, (2 * k + 1) * HASH_LEN) + '.json'; }
  function commonFile(dir, k) {
    var h = dir.slice((2 * k + 1) * HASH_LEN, (2 * k + 2) * HASH_LEN);
    return h === NO_SHARD ? '' : 'x-' + h + '.json';
  }
  StaticIndex.prototype.shardOf = function (t) {
    var ts = this.m.terms, lo = 0, hi = ts.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (ts[mid] <= t) lo = mid; else hi = mid - 1;
    }
    return lo;
  };
  StaticIndex.prototype.loadShard = function (i) {
    var self = this;
    if (!this.m.terms.length) return Promise.resolve([]);
    return this.file(this.hashedName('t', this.m.term_files, i)).then(function (sh) {
      if (!self.shardTerms[i]) {
        sh.t.forEach(function (t, k) { if (!(t in self.postings)) self.postings[t] = sh.p[k]; });
        self.shardTerms[i] = sh.t;
      }
      return sh.t;
    });
  };
  StaticIndex.prototype.loadTerms = function (list) {
    var self = this, shards = {};
    list.forEach(function (t) { shards[self.shardOf(t)] = true; });
    return Promise.all(Object.keys(shards).map(function (i) { return self.loadShard(+i); })).then(function () {
      list.forEach(function (t) { if (!(t in self.postings)) self.postings[t] = null; });
    });
  };
  // prefixTerms loads and returns the terms that start with p, sorted.
  StaticIndex.prototype.prefixTerms = function (p) {
    var self = this, first = this.shardOf(p), last = first, ts = this.m.terms;
    while (last + 1 < ts.length && ts[last + 1].startsWith(p)) last++;
    var loads = [];
    for (var i = first; i <= last; i++) loads.push(this.loadShard(i));
    return Promise.all(loads).then(function (lists) {
      var out = [];
      lists.forEach(function (l) { l.forEach(function (t) { if (t.startsWith(p)) out.push(t); }); });
      return out;
    });
  };
  StaticIndex.prototype.dict = function () {
    var self = this;
    if (!this.dictReady) {
      this.dictReady = this.file(this.m.dict_file).then(function (d) {
        self.dictTerms = d.t;
        self.dictFreq = {};
        d.t.forEach(function (t, i) { self.dictFreq[t] = d.f[i]; });
        return d.t;
      });
    }
    return this.dictReady;
  };
  // fieldPostings returns {docs, tfs, lens} of term in field number fi, or null.
  StaticIndex.prototype.fieldPostings = function (t, fi) {
    var p = this.postings[t];
    if (p === undefined || p === null) return null;
    if (this.headRef(t)) throw new Error('search: the whole postings of ' + t + ' are not loaded');
    if (typeof p === 'string') {
      var v = varints(p), out = [], k = 0;
      while (k < v.length) {
        var f = v[k++], n = v[k++], docs = [], tfs = [], lens = [], prev = 0;
        for (var j = 0; j < n; j++) {
          prev += v[k++]; docs.push(prev); tfs.push(v[k++]); lens.push(v[k++]);
        }
        out[f] = { docs: docs, tfs: tfs, lens: lens };
      }
      this.postings[t] = p = out;
    }
    return p[fi] || null;
  };
  // headRef returns a common term's reference ("@", the hashes of its head and of its whole
  // postings, its documents per field) while its whole postings are not loaded, else null.
  StaticIndex.prototype.headRef = function (t) {
    var p = this.postings[t];
    return typeof p === 'string' && p[0] === '@' ? p : null;
  };
  StaticIndex.prototype.docFreq = function (field, t) {
    var h = this.headRef(t);
    if (h) return varints(h.slice(1 + 2 * HASH_LEN))[1 + this.fieldIndex[field]] || 0;
    var p = this.fieldPostings(t, this.fieldIndex[field]);
    return p ? p.docs.length : 0;
  };
  // loadFull loads the whole postings of the common terms listed.
  StaticIndex.prototype.loadFull = function (list) {
    var self = this;
    return Promise.all(list.map(function (t) {
      var h = self.headRef(t);
      if (!h) return null;
      return self.file('p-' + h.slice(1 + HASH_LEN, 1 + 2 * HASH_LEN) + '.json').then(function (p) {
        if (self.headRef(t)) self.postings[t] = p;
        delete self.heads[t];
      });
    }));
  };
  // loadHeads loads the heads of the common terms listed: the documents with the term, and its
  // postings of highest impact (known, by document), with bounds on the others'.
  StaticIndex.prototype.loadHeads = function (list) {
    var self = this;
    return Promise.all(list.map(function (t) {
      var h = self.headRef(t);
      if (!h || self.heads[t]) return null;
      var nums = varints(h.slice(1 + 2 * HASH_LEN)), number = nums[0], counts = nums.slice(1);
      return self.file('i-' + h.slice(1, 1 + HASH_LEN) + '.json').then(function (f) {
        if (self.heads[t] || !self.headRef(t)) return;
        var set = new Uint8Array(self.m.docs);
        docSet(f.docs, self.m.docs).forEach(function (d) { set[d] = 1; });
        // band: each document's band of rank past the head's postings (the last has those
        // no band lists), whose bounds bound its postings of the term.
        var band = new Uint8Array(self.m.docs).fill(f.bands.length);
        f.bands.forEach(function (b, k) { docSet(b, self.m.docs).forEach(function (d) { band[d] = k; }); });
        var head = { term: t, number: number, counts: counts, set: set, known: new Map(), band: band, bounds: f.bounds,
          blocks: f.blocks, blockBytes: f.block_bytes, fetched: [] };
        var v = varints(f.top), k = 0;
        while (k < v.length) { var d = v[k++]; k = readFields(v, k, head, d); }
        self.heads[t] = head;
      });
    }));
  };
  // readFields reads a document's fields with a common term (their bits, then the frequency and
  // length in each) from v at k into head.known, and returns where they end.
  function readFields(v, k, head, d) {
    var mask = v[k++], tf = [0, 0, 0, 0], len = [0, 0, 0, 0];
    for (var fi = 0; fi < 4; fi++) if (mask & (1 << fi)) { tf[fi] = v[k++]; len[fi] = v[k++]; }
    head.known.set(d, { mask: mask, tf: tf, len: len });
    return k;
  }
  StaticIndex.prototype.textFreq = function (t) {
    if (this.postings[t] !== undefined) {
      var n = 0;
      for (var i = 0; i < this.m.fields.length; i++) n += this.docFreq(this.m.fields[i], t);
      return n;
    }
    return (this.dictFreq && this.dictFreq[t]) || 0;
  };
  StaticIndex.prototype.facet = function (field) {
    var self = this;
    this.facetData = this.facetData || {};
    if (!this.facetData[field]) {
      var name = this.m.facet_files[field];
      this.facetData[field] = !name ? Promise.resolve({ name: field, values: [], docs: [] }) : this.file(name).then(function (f) {
        var byDoc = null;
        return {
          name: f.name, values: f.values, labels: f.labels || [],
          docs: f.docs.map(function (s) { return docSet(s, self.m.docs); }),
          valueDocs: function (v) { var i = f.values.indexOf(v); return i < 0 ? [] : this.docs[i]; },
          byDoc: function () {
            if (!byDoc) {
              byDoc = new Array(self.m.docs);
              for (var i = 0; i < this.values.length; i++) this.docs[i].forEach(function (d) { (byDoc[d] = byDoc[d] || []).push(i); });
            }
            return byDoc;
          }
        };
      });
    }
    return this.facetData[field];
  };
  // values returns a keyword field's values and labels, without their documents (its g-*.json
  // file, then every chunk of values); valueDocs the documents of one of its values (the chunk
  // that has it, then a v-*.json file).
  StaticIndex.prototype.values = function (field) {
    var self = this, name = this.m.facet_values[field];
    if (!name) return Promise.resolve({ values: [], labels: [], docs: [] });
    return this.file(name).then(function (g) {
      return Promise.all(g.first.map(function (f, i) { return self.file(self.hashedName('h', g.chunks, i)); }));
    }).then(function (chunks) {
      var out = { values: [], labels: [], docs: [] };
      chunks.forEach(function (c) {
        out.values = out.values.concat(c.values);
        out.labels = out.labels.concat(c.labels || c.values.map(function () { return ''; }));
        out.docs = out.docs.concat(c.docs);
      });
      return out;
    });
  };
  // valueChunk returns the chunk of a keyword field's values that would hold v.
  StaticIndex.prototype.valueChunk = function (field, v) {
    var self = this, name = this.m.facet_values[field];
    if (!name) return Promise.resolve({ values: [], docs: [] });
    return this.file(name).then(function (g) {
      var lo = 0, hi = g.first.length - 1;
      if (hi < 0) return { values: [], docs: [] };
      while (lo < hi) {
        var mid = (lo + hi + 1) >> 1;
        if (g.first[mid] <= v) lo = mid; else hi = mid - 1;
      }
      return self.file(self.hashedName('h', g.chunks, lo));
    });
  };
  StaticIndex.prototype.valueDocs = function (field, v) {
    var self = this;
    return this.valueChunk(field, v).then(function (g) {
      var i = g.values.indexOf(v);
      if (i < 0) return [];
      if (g.docs[i][0] === '=') return docSet(g.docs[i].slice(1), self.m.docs);
      var name = 'v-' + g.docs[i] + '.json';
      self.valueSets = self.valueSets || {};
      if (!self.valueSets[name]) self.valueSets[name] = self.file(name).then(function (s) { return docSet(s, self.m.docs); });
      return self.valueSets[name];
    });
  };
  StaticIndex.prototype.docs = function (nums) {
    return this.rows(nums).then(function (rows) {
      return rows.map(function (r) {
        return { id: r[0], name: r[1], summary: r[2], publisher: r[3], publisher_name: r[4], version: r[5],
          license: r[6], license_status: r[7], signature: r[8], sso: r[9], scim: !!r[10],
          url: 'products/' + r[0] + '/index.html', logo: r[11] || '', excerpt: r[12] || '' };
      });
    });
  };
  // rows returns the rows of the document shards for the documents numbered.
  StaticIndex.prototype.rows = function (nums) {
    var self = this, per = this.m.docs_per_shard, dirs = this.m.shards_per_dir, shards = {};
    nums.forEach(function (d) { shards[Math.floor(d / per)] = true; });
    return Promise.all(Object.keys(shards).map(function (s) {
      return self.file(self.hashedName('e', self.m.doc_dirs, Math.floor(s / dirs))).then(function (dir) {
        return self.file(docFile(dir, s % dirs));
      }).then(function (rows) { return [+s, rows]; });
    })).then(function (loaded) {
      var rows = {};
      loaded.forEach(function (l) { rows[l[0]] = l[1]; });
      return nums.map(function (d) { return rows[Math.floor(d / per)][d % per]; });
    });
  };
  // common returns the postings of the common terms of the documents numbered and of the others
  // of their document shards, by document (a Map): the x-*.json file the directory names beside
  // each document shard (the shard itself is not fetched).
  StaticIndex.prototype.common = function (nums) {
    var self = this, per = this.m.docs_per_shard, dirs = this.m.shards_per_dir, shards = {};
    nums.forEach(function (d) { shards[Math.floor(d / per)] = true; });
    return Promise.all(Object.keys(shards).map(function (s) {
      return self.file(self.hashedName('e', self.m.doc_dirs, Math.floor(s / dirs))).then(function (dir) {
        var x = commonFile(dir, s % dirs), n = Math.min(per, self.m.docs - s * per);
        return x ? self.file(x) : new Array(n).fill('');
      }).then(function (common) { return [+s, common]; });
    })).then(function (loaded) {
      var byDoc = new Map();
      loaded.forEach(function (l) { l[1].forEach(function (c, k) { byDoc.set(l[0] * per + k, c); }); });
      return byDoc;
    });
  };

  // ---- parsing against the compact index ------------------------------------------------

  StaticIndex.prototype.isField = function (f) {
    return this.m.fields.indexOf(f) >= 0 || this.m.keyword_fields.indexOf(f) >= 0;
  };
  StaticIndex.prototype.parse = function (q) {
    var self = this, x = this.m.expand;
    var toks = lex(q, function (f) { return self.isField(f); });

    function mostFrequent(cands, limit) {
      cands = cands.filter(function (c) { return self.textFreq(c.term) > 0; });
      cands.sort(function (a, b) { return (self.textFreq(b.term) - self.textFreq(a.term)) || cmpStr(a.term, b.term); });
      return cands.slice(0, limit);
    }
    function fuzzyTerms(t, d, limit, withExact) {
      return self.dict().then(function (all) {
        var rt = Array.from(t), cands = [];
        all.forEach(function (w) {
          if (!withExact && w === t) return;
          var n = runeLen(w);
          if (n < rt.length - d || n > rt.length + d) return;
          var dist = osa(rt, Array.from(w), d);
          if (dist <= d) cands.push({ term: w, dist: dist, freq: self.dictFreq[w] || 0 });
        });
        cands.sort(function (a, b) { return (a.dist - b.dist) || (b.freq - a.freq) || cmpStr(a.term, b.term); });
        var out = [];
        for (var i = 0; i < cands.length && out.length < limit; i++) {
          if (cands[i].freq === 0) continue;
          var w = cands[i].dist === 1 ? x.fuzzy_weight1 : cands[i].dist === 2 ? x.fuzzy_weight2 : 1;
          out.push({ term: cands[i].term, weight: w });
        }
        return out;
      });
    }
    function matching(re) {
      return self.dict().then(function (all) {
        return mostFrequent(all.filter(function (w) { return re.test(w); }).map(function (w) { return { term: w, weight: 1 }; }), x.max_expansions);
      });
    }
    function widen(t) {
      return self.loadTerms([t]).then(function () {
        var out = [{ term: t, weight: 1 }], exact = self.textFreq(t) > 0;
        var prefix = runeLen(t) >= x.prefix_min ? self.prefixTerms(t) : Promise.resolve(null);
        return prefix.then(function (list) {
          if (list) {
            var cands = mostFrequent(list.filter(function (w) { return w !== t; }).map(function (w) { return { term: w, weight: x.prefix_weight }; }), x.max_prefix);
            out = out.concat(cands);
            if (exact || cands.length) return out;
          } else if (exact) {
            return out;
          }
          if (runeLen(t) < x.fuzzy_min) return out;
          return fuzzyTerms(t, runeLen(t) >= x.fuzzy_min2 ? 2 : 1, x.max_fuzzy, false).then(function (f) { return out.concat(f); });
        });
      });
    }
    function expand(t) {
      var low = t.text.toLowerCase();
      if (t.regex) { var re = regexOf(low); return re ? matching(re) : Promise.resolve([]); }
      if (t.pattern) return matching(wildcardRE(low));
      if (t.fuzzy >= 0) return fuzzyTerms(low, t.fuzzy, x.max_expansions, true);
      return Promise.all(terms(t.text).map(widen)).then(function (lists) { return [].concat.apply([], lists); });
    }
    function termLeaves(fields, ws, boost) {
      return self.loadTerms(ws.map(function (w) { return w.term; })).then(function () {
        var out = [], seen = {};
        ws.forEach(function (w) {
          fields.forEach(function (f) {
            var k = f + '\u0000' + w.term;
            if (seen[k] || self.docFreq(f, w.term) === 0) return;
            seen[k] = true;
            out.push({ field: f, term: w.term, boost: self.boosts[f] * w.weight * boost });
          });
        });
        return out;
      });
    }
    function keywordLeaves(t) {
      if (!t.regex && !t.pattern) {
        // The value as given, found in its chunk; any other case of it needs every value.
        return self.valueChunk(t.field, t.text).then(function (c) {
          return c.values.indexOf(t.text) >= 0 ? [{ field: t.field, term: t.text }] : anyValue(t);
        });
      }
      return anyValue(t);
    }
    function anyValue(t) {
      return self.values(t.field).then(function (fd) {
        var values = fd.values, match;
        if (t.regex) { var re = regexOf(t.text); if (!re) return []; match = function (v) { return re.test(v); }; }
        else if (t.pattern) { var wr = wildcardRE(t.text); match = function (v) { return wr.test(v); }; }
        else {
          if (values.indexOf(t.text) >= 0) return [{ field: t.field, term: t.text }];
          var lt = t.text.toLowerCase();
          match = function (v) { return v.toLowerCase() === lt; };
        }
        var out = [];
        values.forEach(function (v) { if (match(v) && out.length < x.max_expansions) out.push({ field: t.field, term: v }); });
        return out;
      });
    }
    var words = 0;
    toks.forEach(function (t) {
      if (!t.regex && !t.pattern && t.fuzzy < 0 && (!t.field || self.m.fields.indexOf(t.field) >= 0)) words += analyze(t.text).length;
    });
    if (words > MAX_QUERY_WORDS) return Promise.reject(QueryError(0, 'more than ' + MAX_QUERY_WORDS + ' words; use fewer'));
    return Promise.all(toks.map(function (t) {
      var c = { occur: t.occur, kind: KIND_TERMS, leaves: [], phrase: null, positions: null, fields: [], boost: t.boost };
      var fields = t.field ? [t.field] : self.m.fields;
      if (t.field && self.m.keyword_fields.indexOf(t.field) >= 0) {
        c.kind = KIND_KEYWORD;
        return keywordLeaves(t).then(function (l) { c.leaves = l; return c; });
      }
      if (t.quoted) {
        var an = analyze(t.text);
        var pf = fields.filter(function (f) { return self.m.phrase_fields.indexOf(f) >= 0; });
        if (an.length === 1) {
          return termLeaves(fields, [{ term: an[0].term, weight: 1 }], t.boost).then(function (l) { c.leaves = l; return c; });
        }
        c.kind = KIND_PHRASE;
        c.phrase = an.map(function (a) { return a.term; });
        c.positions = an.map(function (a) { return a.pos - an[0].pos; });
        return self.loadTerms(c.phrase).then(function () {
          c.fields = pf.filter(function (f) { return c.phrase.every(function (w) { return self.docFreq(f, w) > 0; }); });
          return c;
        });
      }
      return expand(t).then(function (ws) { return termLeaves(fields, ws, t.boost); }).then(function (l) { c.leaves = l; return c; });
    }));
  };

  // ---- scoring: bleve's TF-IDF, up to its uniform query norm ------------------------------

  StaticIndex.prototype.leafScores = function (l, into) {
    var p = this.fieldPostings(l.term, this.fieldIndex[l.field]);
    if (!p) return;
    var idf = 1 + Math.log(this.m.docs / (p.docs.length + 1)), w = l.boost * idf;
    for (var k = 0; k < p.docs.length; k++) {
      var s = Math.sqrt(p.tfs[k]) * Math.fround(1 / Math.sqrt(p.lens[k])) * idf * w;
      var e = into.get(p.docs[k]);
      if (e) { e[0] += s; e[1]++; } else into.set(p.docs[k], [s, 1]);
    }
  };
  function isEmpty(c) { return c.kind === KIND_PHRASE ? !c.phrase.length || !c.fields.length : !c.leaves.length; }
  // clauseScores returns doc → score for the documents a clause matches.
  StaticIndex.prototype.clauseScores = function (c) {
    var self = this, out = new Map();
    if (c.kind === KIND_KEYWORD) {
      return Promise.all(c.leaves.map(function (l) { return self.valueDocs(l.field, l.term); })).then(function (sets) {
        var k = Math.max(c.boost, MIN_BOOST);
        sets.forEach(function (docs) { docs.forEach(function (d) { out.set(d, k); }); });
        return out;
      });
    }
    if (c.kind === KIND_PHRASE) {
      var per = c.fields.map(function (f) {
        var acc = new Map(), uniq = Array.from(new Set(c.phrase));
        uniq.forEach(function (t) { self.leafScores({ field: f, term: t, boost: self.boosts[f] * Math.max(c.boost, MIN_BOOST) }, acc); });
        var m = new Map();
        acc.forEach(function (v, d) { if (v[1] === uniq.length) m.set(d, v[0]); });
        return m;
      });
      var acc2 = new Map();
      per.forEach(function (m) { m.forEach(function (s, d) { var e = acc2.get(d); if (e) { e[0] += s; e[1]++; } else acc2.set(d, [s, 1]); }); });
      acc2.forEach(function (v, d) { out.set(d, v[0] * v[1] / c.fields.length); });
      return Promise.resolve(out);
    }
    var acc = new Map();
    c.leaves.forEach(function (l) { self.leafScores(l, acc); });
    acc.forEach(function (v, d) { out.set(d, v[0] * v[1] / c.leaves.length); });
    return Promise.resolve(out);
  };

  // search returns every matching document as [document number, score], with the facet
  // filters applied: the best n (every one when n is not given) first, best first; the others
  // after them, unordered, with no score. Clauses, when given, are q already parsed.
  StaticIndex.prototype.search = function (q, filters, clauses, n) {
    var self = this;
    return this.load().then(function () { return clauses || self.parse(q); }).then(function (clauses) {
      return self.prepare(clauses, n).then(function (bounded) {
        return bounded ? self.bounded(clauses, filters || {}, n) : null;
      }).then(function (found) {
        self.stats[found ? 'bounded' : 'exhaustive']++;
        return found || self.exhaustive(q, filters, clauses);
      });
    });
  };
  // exhaustive is search scoring every match, from the whole postings.
  StaticIndex.prototype.exhaustive = function (q, filters, clauses) {
    var self = this, common = [];
    clauses.forEach(function (c) {
      (c.kind === KIND_PHRASE ? c.phrase || [] : c.kind === KIND_TERMS ? c.leaves.map(function (l) { return l.term; }) : [])
        .forEach(function (t) { if (self.headRef(t)) common.push(t); });
    });
    return this.loadFull(common).then(function () {
      return Promise.all(clauses.map(function (c) { return isEmpty(c) ? Promise.resolve(new Map()) : self.clauseScores(c); }))
        .then(function (scores) { return self.combine(clauses, scores); });
    }).then(function (matched) {
      return self.applyFilters(matched, filters || {});
    }).then(function (matched) {
      matched.sort(function (a, b) { return (b[1] - a[1]) || (a[0] - b[0]); });
      return matched;
    });
  };
  // prepare loads what scoring the clauses needs of the common terms (see static.go): their
  // heads where the best n can be found from them, which it reports, else their whole postings.
  // A head serves a clause of terms that looks for the term in every field that has it; phrases
  // and fields named need the whole postings.
  StaticIndex.prototype.prepare = function (clauses, n) {
    var self = this, heads = {}, full = {};
    clauses.forEach(function (c) {
      if (c.kind === KIND_PHRASE) (c.phrase || []).forEach(function (t) { if (self.headRef(t)) full[t] = true; });
      if (c.kind !== KIND_TERMS) return;
      var fields = {};
      c.leaves.forEach(function (l) { (fields[l.term] = fields[l.term] || {})[l.field] = true; });
      Object.keys(fields).forEach(function (t) {
        if (!self.headRef(t)) return;
        var all = self.m.fields.every(function (f) { return !self.docFreq(f, t) || fields[t][f]; });
        (all ? heads : full)[t] = true;
      });
    });
    var useHeads = n > 0 && n < Infinity ? Object.keys(heads).filter(function (t) { return !full[t]; }) : [];
    return Promise.all([this.loadFull(Object.keys(full)), this.loadHeads(useHeads)]).then(function () {
      return useHeads.some(function (t) { return self.heads[t]; });
    });
  };
  // bounded is search for the best n without the whole postings of the common terms: which
  // documents match comes from the heads' sets of documents; a document's score is known when
  // its postings of each common term it has are (in the term's head, or in its row of the
  // document shards, fetched for it), and bounded otherwise (see static.go's impact). The
  // best n are found once every document that could rank among them is known, fetching the
  // rows of those that could, a few at a time: the result page fetches the best n's rows
  // anyway. Too many rows to fetch, and it returns null: search then loads the whole postings.
  StaticIndex.prototype.bounded = function (clauses, filters, n) {
    var self = this, N = this.m.docs, UNKNOWN = -1, stats = this.stats;
    var fields = Object.keys(filters).filter(function (f) { return filters[f] && filters[f].length; });
    return Promise.all([
      Promise.all(clauses.map(function (c) {
        return !isEmpty(c) && (c.kind === KIND_KEYWORD || c.kind === KIND_PHRASE) ? self.clauseScores(c) : null;
      })),
      self.filterSets(filters, fields)
    ]).then(function (loaded) {
      var pre = loaded[0], fds = loaded[1];
      // Each clause: its documents, and how to score one.
      var cls = clauses.map(function (c, k) {
        var set = new Uint8Array(N), cl = { c: c, set: set, pre: pre[k], leaves: [], terms: [] };
        if (isEmpty(c)) return cl;
        if (pre[k]) { pre[k].forEach(function (v, d) { set[d] = 1; }); return cl; }
        var seen = {};
        c.leaves.forEach(function (l) {
          var fi = self.fieldIndex[l.field], head = self.heads[l.term];
          var lf = { l: l, fi: fi, head: head };
          if (head) {
            var count = head.counts[fi];
            lf.idf = 1 + Math.log(N / (count + 1));
            if (!seen[l.term]) {
              seen[l.term] = true;
              for (var d = 0; d < N; d++) if (head.set[d]) set[d] = 1;
              cl.terms.push({ head: head, factor: l.boost / self.boosts[l.field] });
            }
          } else {
            var p = self.fieldPostings(l.term, fi);
            if (!p) return;
            lf.p = p;
            lf.idf = 1 + Math.log(N / (p.docs.length + 1));
            lf.at = new Map();
            p.docs.forEach(function (d, i) { lf.at.set(d, i); set[d] = 1; });
          }
          lf.w = l.boost * lf.idf;
          cl.leaves.push(lf);
        });
        return cl;
      });
      var musts = [], shoulds = [], nots = [], mustEmpty = false, anyShould = false, emptyShould = false;
      cls.forEach(function (cl) {
        var c = cl.c;
        if (c.occur === MUST) { if (isEmpty(c)) mustEmpty = true; musts.push(cl); }
        else if (c.occur === MUST_NOT) { if (!isEmpty(c)) nots.push(cl); }
        else { shoulds.push(cl); if (isEmpty(c)) emptyShould = true; else anyShould = true; }
      });
      if (mustEmpty || (!musts.length && shoulds.length && !anyShould)) return [];
      var bonus = anyShould && shoulds.length >= 2 && !emptyShould;
      var total = shoulds.length + (bonus ? 1 : 0);
      var allowed = fds.map(function (sets) {
        var s = new Uint8Array(N);
        sets.forEach(function (docs) { docs.forEach(function (d) { s[d] = 1; }); });
        return s;
      });
      var matched = [];
      for (var d = 0; d < N; d++) {
        var ok = musts.length ? musts.every(function (cl) { return cl.set[d]; }) :
          shoulds.length ? shoulds.some(function (cl) { return cl.set[d]; }) : true;
        if (ok && !nots.some(function (cl) { return cl.set[d]; }) && allowed.every(function (s) { return s[d]; })) matched.push(d);
      }
      // value returns a clause's score of a document it matches, as clauseScores sums it, or
      // when a common term's postings of the document are unknown, bounds on it.
      function value(cl, d) {
        if (cl.pre) { var v = cl.pre.get(d); return { lo: v, hi: v }; }
        var sum = 0, cnt = 0, unknown = [];
        cl.leaves.forEach(function (lf) {
          var s;
          if (lf.head) {
            var e = lf.head.known.get(d);
            if (e === undefined) e = lf.head.set[d] ? UNKNOWN : null;
            if (e === UNKNOWN) { if (unknown.indexOf(lf.head) < 0) unknown.push(lf.head); return; }
            if (!e || !(e.mask & (1 << lf.fi))) return;
            s = Math.sqrt(e.tf[lf.fi]) * Math.fround(1 / Math.sqrt(e.len[lf.fi])) * lf.idf * lf.w;
          } else {
            var k = lf.at.get(d);
            if (k === undefined) return;
            s = Math.sqrt(lf.p.tfs[k]) * Math.fround(1 / Math.sqrt(lf.p.lens[k])) * lf.idf * lf.w;
          }
          sum += s;
          cnt++;
        });
        var L = cl.c.leaves.length, lo = sum * cnt / L;
        if (!unknown.length) return { lo: lo, hi: lo };
        // The unknown terms u add S_u to the sum and c_u to the count: S_u·c_u ≤ bound,
        // S_u ≤ bound on impact, c_u ≤ bound on fields (each times the term's factor).
        var bs = 0, bc = 0, prod = 0, ts = cl.terms.filter(function (x) { return unknown.indexOf(x.head) >= 0; });
        var b = ts.map(function (x) { return x.head.bounds[x.head.band[d]]; }); // weight, impact, fields
        ts.forEach(function (x, i) { bs += b[i][1] * x.factor; bc += b[i][2]; prod += b[i][0] * x.factor; });
        ts.forEach(function (x, i) { ts.forEach(function (y, j) { if (i !== j) prod += b[i][1] * x.factor * b[j][2]; }); });
        return { lo: lo, hi: (sum * cnt + sum * bc + cnt * bs + prod) / L * (1 + 1e-9) + 1e-300, unknown: true };
      }
      function score(d) {
        var lo = 0, hi = 0, unknown = false;
        musts.forEach(function (cl) { var v = value(cl, d); lo += v.lo; hi += v.hi; unknown = unknown || v.unknown; });
        var sum = 0, sumHi = 0, m = 0;
        shoulds.forEach(function (cl) {
          if (!cl.set[d]) return;
          var v = value(cl, d);
          sum += v.lo; sumHi += v.hi; m++;
          unknown = unknown || v.unknown;
        });
        if (bonus && m === shoulds.length) { sum += sum; sumHi += sumHi; m++; }
        if (m) { lo += sum * m / total; hi += sumHi * m / total; }
        if (!musts.length && !shoulds.length) lo = hi = 1;
        return { lo: lo, hi: hi, unknown: unknown };
      }
      // Each round scores the documents still open: those known join known, and the best n
      // are found once no open document can score as much as the n-th known.
      var fetched = 0, known = [], open = matched;
      function round() {
        var still = [];
        open.forEach(function (d) {
          var s = score(d);
          if (s.unknown) still.push([d, s.hi]); else known.push([d, s.lo]);
        });
        known.sort(function (a, b) { return (b[1] - a[1]) || (a[0] - b[0]); });
        var theta = known.length >= n ? known[n - 1][1] : -Infinity;
        still = still.filter(function (o) { return o[1] >= theta; });
        open = still.map(function (o) { return o[0]; });
        if (!open.length) {
          var top = known.slice(0, n), inTop = new Set(top.map(function (m) { return m[0]; }));
          matched.forEach(function (d) { if (!inTop.has(d)) top.push([d, null]); });
          return top;
        }
        // Rows first: the products open are mostly those of the best n, and the bounds fall as
        // they become known. Still far more open than rows left to fetch after a few rounds,
        // or no rows left: the blocks of the bands where the open products are, which make
        // them all known; and when no block is left, the whole postings.
        var maxRows = self.maxRows;
        if (fetched >= 2 * ROWS_AT_ONCE && open.length > 4 * (maxRows - fetched) || fetched + ROWS_AT_ONCE > maxRows) {
          var blocks = [];
          Object.keys(self.heads).forEach(function (t) {
            var head = self.heads[t], want = {};
            open.forEach(function (d) {
              var k = head.band[d];
              if (k < head.blocks.length && head.set[d] && !head.known.has(d) && !head.fetched[k]) want[k] = true;
            });
            Object.keys(want).forEach(function (k) { head.fetched[k] = true; blocks.push([head, +k]); });
          });
          if (!blocks.length) return null;
          return Promise.all(blocks.map(function (b) {
            stats.blocks++;
            return self.file('b-' + b[0].blocks[b[1]] + '.json').then(function (s) {
              var v = varints(s), k = 0;
              while (k < v.length) { var d = v[k++]; k = readFields(v, k, b[0], d); }
            });
          })).then(function () { fetched = Math.max(0, Math.min(fetched, maxRows - 2 * ROWS_AT_ONCE)); return round(); });
        }
        still.sort(function (a, b) { return (b[1] - a[1]) || (a[0] - b[0]); });
        // The first round fetches the rows of the best n by their bounds, later ones a few:
        // each round's known products raise the bar the others must reach.
        var batch = still.slice(0, fetched ? ROWS_LATER : Math.max(n, ROWS_AT_ONCE)).map(function (o) { return o[0]; });
        fetched += batch.length;
        self.stats.rows += batch.length;
        return self.common(batch).then(function (byDoc) {
          byDoc.forEach(function (common, d) {
            // The common terms' postings, by the terms' numbers (gaps).
            var v = varints(common), at = {}, num = 0, k = 0;
            while (k < v.length) {
              num += v[k++];
              at[num] = k;
              var mask = v[k++];
              for (var fi = 0; fi < 4; fi++) if (mask & (1 << fi)) k += 2;
            }
            Object.keys(self.heads).forEach(function (t) {
              var head = self.heads[t];
              if (!head.set[d] || head.known.has(d)) return;
              if (at[head.number] === undefined) throw new Error('search index: no postings of ' + t + ' for document ' + d);
              readFields(v, at[head.number], head, d);
            });
          });
          return round();
        });
      }
      return round();
    });
  };
  // ROWS_AT_ONCE is how many documents' rows bounded fetches at least in its first round,
  // ROWS_LATER in the others, MAX_ROWS how many in all before it turns to blocks of postings.
  var ROWS_AT_ONCE = 8, ROWS_LATER = 4, MAX_ROWS = 40;
  StaticIndex.prototype.combine = function (clauses, scores) {
    var n = this.m.docs, musts = [], shoulds = [], nots = [], i;
    var anyShould = false, emptyShould = false, mustEmpty = false;
    clauses.forEach(function (c, k) {
      if (c.occur === MUST) { if (isEmpty(c)) mustEmpty = true; musts.push(scores[k]); }
      else if (c.occur === MUST_NOT) { if (!isEmpty(c)) nots.push(scores[k]); }
      else { shoulds.push(scores[k]); if (isEmpty(c)) emptyShould = true; else anyShould = true; }
    });
    if (mustEmpty) return [];
    if (!clauses.length || (!musts.length && !shoulds.length && !nots.length)) {
      var all = [];
      for (i = 0; i < n; i++) all.push([i, 1]);
      return all;
    }
    if (!musts.length && shoulds.length && !anyShould) return [];
    var bonus = anyShould && shoulds.length >= 2 && !emptyShould;
    var total = shoulds.length + (bonus ? 1 : 0);
    var cand;
    if (musts.length) {
      cand = [];
      musts[0].forEach(function (s, d) { cand.push(d); });
      cand = cand.filter(function (d) { return musts.every(function (m) { return m.has(d); }); });
    } else if (shoulds.length) {
      var set = new Set();
      shoulds.forEach(function (m) { m.forEach(function (s, d) { set.add(d); }); });
      cand = Array.from(set);
    } else {
      cand = [];
      for (i = 0; i < n; i++) cand.push(i);
    }
    var out = [];
    cand.forEach(function (d) {
      if (nots.some(function (m) { return m.has(d); })) return;
      var score = 0;
      if (musts.length) musts.forEach(function (m) { score += m.get(d); });
      var sum = 0, matched = 0;
      shoulds.forEach(function (m) { if (m.has(d)) { sum += m.get(d); matched++; } });
      if (bonus && matched === shoulds.length) { sum += sum; matched++; }
      if (matched) score += sum * matched / total;
      if (!musts.length && !shoulds.length) score = 1;
      out.push([d, score]);
    });
    return out;
  };
  // filterSets returns, for each field filtered, the documents of each value it accepts.
  StaticIndex.prototype.filterSets = function (filters, fields) {
    var self = this;
    return Promise.all(fields.map(function (f) {
      return Promise.all(filters[f].map(function (v) { return self.valueDocs(f, v); }));
    }));
  };
  StaticIndex.prototype.applyFilters = function (matched, filters) {
    var self = this, fields = Object.keys(filters).filter(function (f) { return filters[f] && filters[f].length; });
    if (!fields.length) return Promise.resolve(matched);
    return this.filterSets(filters, fields).then(function (fds) {
      var sets = fds.map(function (vs) {
        var s = new Set();
        vs.forEach(function (docs) { docs.forEach(function (d) { s.add(d); }); });
        return s;
      });
      return matched.filter(function (m) { return sets.every(function (s) { return s.has(m[0]); }); });
    });
  };
  // facetCounts counts the values of every facet over the matched documents.
  StaticIndex.prototype.facetCounts = function (matched) {
    var self = this;
    return Promise.all(this.m.facets.map(function (f) { return self.facet(f); })).then(function (fds) {
      return fds.map(function (fd) {
        var counts = new Array(fd.values.length).fill(0), byDoc = fd.byDoc();
        matched.forEach(function (m) { (byDoc[m[0]] || []).forEach(function (v) { counts[v]++; }); });
        var values = [];
        fd.values.forEach(function (v, i) { if (counts[i]) values.push({ value: v, label: fd.labels[i] || '', count: counts[i] }); });
        values.sort(function (a, b) { return (b.count - a.count) || cmpStr(a.value, b.value); });
        return { field: fd.name, values: values };
      });
    });
  };
  // highlight marks the words of text whose terms are in set.
  function highlight(text, set) {
    var out = '', at = 0;
    analyze(text).forEach(function (t) {
      if (!set.has(t.term)) return;
      out += esc(text.slice(at, t.start)) + '<mark>' + esc(text.slice(t.start, t.end)) + '</mark>';
      at = t.end;
    });
    return at ? out + esc(text.slice(at)) : null;
  }
  // fragment is highlight for a description: about limit characters from a little before the
  // first match, cleared of Markdown emphasis and line breaks (highlight.go's mark).
  function fragment(text, set, limit) {
    var spans = analyze(text).filter(function (t) { return set.has(t.term); });
    if (!spans.length) return null;
    var from = Math.max(0, spans[0].start - Math.floor(limit / 4));
    var sp = text.lastIndexOf(' ', from), nl = text.lastIndexOf('\n', from);
    if (from > 0 && Math.max(sp, nl) >= 0 && Math.max(sp, nl) < from) from = Math.max(sp, nl) + 1;
    var to = Math.min(text.length, from + limit);
    if (to < text.length) {
      var cut = Math.max(text.lastIndexOf(' ', to), text.lastIndexOf('\n', to));
      if (cut >= spans[0].end) to = cut;
    }
    var clean = function (s) { return esc(s.replace(/\*\*|`|\r/g, '').replace(/\n/g, ' ')); };
    var out = from > 0 ? '\u2026' : '', at = from;
    spans.forEach(function (t) {
      if (t.start < at || t.end > to) return;
      out += clean(text.slice(at, t.start)) + '<mark>' + esc(text.slice(t.start, t.end)) + '</mark>';
      at = t.end;
    });
    out += clean(text.slice(at, to));
    return (to < text.length ? out + '\u2026' : out).trim();
  }
  function highlightTerms(clauses) {
    var s = new Set();
    clauses.forEach(function (c) {
      if (c.occur === MUST_NOT) return;
      if (c.kind === KIND_TERMS) c.leaves.forEach(function (l) { s.add(l.term); });
      if (c.kind === KIND_PHRASE) c.phrase.forEach(function (t) { s.add(t); });
    });
    return s;
  }

  // ---- engines: the same answers from the server or from the compact index --------------

  function fetchJSON(url, opts) {
    return fetch(url, opts).then(function (r) {
      if (r.status === 400) {
        // The server's answer to a malformed query: {"error": "query:1:6: unterminated phrase…"}.
        return r.json().then(function (j) {
          var e = new Error(j.error || 'bad request');
          e.queryError = /^query[:]/.test(j.error || '');
          throw e;
        });
      }
      if (!r.ok) throw new Error('HTTP ' + r.status + ' for ' + url);
      return r.json();
    });
  }

  function staticEngine(idx) {
    return {
      mode: 'static',
      search: function (p) {
        var t0 = performance.now();
        var parsed;
        return idx.load().then(function () { return idx.parse(p.q); }).then(function (c) {
          parsed = c;
          return idx.search(p.q, p.filters, c, (p.from || 0) + p.size);
        }).then(function (matched) {
          var page = matched.slice(p.from || 0, (p.from || 0) + p.size);
          return idx.docs(page.map(function (m) { return m[0]; })).then(function (hits) {
            var hl = highlightTerms(parsed);
            hits.forEach(function (h, i) {
              h.score = page[i][1];
              var hs = {}, n = hl.size && highlight(h.name, hl), s = hl.size && highlight(h.summary, hl);
              var d = hl.size && h.excerpt && fragment(h.excerpt, hl, 220);
              if (n) hs.name = n;
              if (s) hs.summary = s;
              if (d) hs.description = d;
              h.highlights = hs;
            });
            return {
              query: p.q, total: matched.length, took_ms: performance.now() - t0, hits: hits,
              facets: null, matched: matched
            };
          });
        });
      },
      facets: function (res) { return idx.facetCounts(res.matched); },
      index: idx
    };
  }

  function serverEngine(url) {
    return {
      mode: 'server',
      search: function (p) {
        var u = new URL(url);
        u.searchParams.set('q', p.q);
        u.searchParams.set('size', String(p.size));
        if (p.from) u.searchParams.set('from', String(p.from));
        u.searchParams.set('highlight', '1');
        u.searchParams.set('facet_size', String(FACET_SIZE));
        Object.keys(p.filters || {}).forEach(function (f) {
          p.filters[f].forEach(function (v) { u.searchParams.append('facet', f + ':' + v); });
        });
        return fetchJSON(u.href);
      },
      facets: function (res) { return Promise.resolve(res.facets); },
      index: new StaticIndex(new URL('../api/v1/search.json', url).href)
    };
  }

  // chooseEngine finds out whether `marketplace serve` is there with a HEAD request for the
  // compact index's manifest, which every host has (so no host answers with an error that the
  // console would show): serve adds the header X-Marketplace-Search-API naming its API. Pages
  // opened from disk (file://) cannot fetch anything, and say how to serve the folder instead.
  function chooseEngine(base) {
    if (new URL(base).protocol === 'file:') {
      var e = new Error('Search needs the site served over HTTP: browsers do not let a page opened from disk load the search data.');
      e.fileURL = true;
      return Promise.reject(e);
    }
    var manifest = new URL('../api/v1/search.json', base).href;
    var idx = new StaticIndex(manifest);
    var ctl = typeof AbortController !== 'undefined' ? new AbortController() : null;
    var timer = ctl && setTimeout(function () { ctl.abort(); }, 3000);
    return fetch(manifest, { method: 'HEAD', signal: ctl && ctl.signal, cache: 'no-cache' }).then(function (r) {
      var api = r.ok && r.headers.get('X-Marketplace-Search-API');
      return api ? serverEngine(new URL('../' + api, base).href) : staticEngine(idx);
    }, function () { return staticEngine(idx); }).then(function (e) {
      if (timer) clearTimeout(timer);
      return e;
    });
  }

  // ---- the page ----------------------------------------------------------------------------

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  // The template's facet groups (fieldset[data-facet]) use the site's names; FIELD maps them to
  // the index's keyword fields. Facets the template lacks get a group of their own.
  var FIELD = { license: 'license_status', interface: 'exposes' };
  var TITLES = {
    category: 'Category', license_status: 'License', exposes: 'Provides', publisher: 'Publisher',
    tag: 'Tag', license: 'SPDX license', needs: 'Needs', sso: 'Single sign-on', scim: 'SCIM provisioning',
    signature: 'Signature', origin: 'Origin'
  };
  var VALUE_LABELS = {
    license_status: { open: 'Open license', evaluation: 'Evaluation (freemium)' },
    sso: { oidc: 'OpenID Connect', saml2: 'SAML 2.0' },
    scim: { yes: 'Supported', no: 'Not supported' },
    signature: { verified: 'Verified', unsigned: 'Unsigned', failed: 'Failed', unchecked: 'Not checked' }
  };
  var PAGE = 10, MAX_SIZE = 200; // results a page shows; the server's most hits per request
  // FACET_SIZE is the most values of a facet the page asks the server to count: the page shows
  // the most frequent few (the template's groups list fewer values than this).
  var FACET_SIZE = 100;

  function init() {
    var form = document.getElementById('search-form');
    var input = document.getElementById('q');
    var results = document.getElementById('results');
    var statusEl = document.getElementById('search-status');
    var facetsEl = document.getElementById('facets');
    if (!input || !results) return;
    var base = document.baseURI;
    var groups = {}; // field → {ui, el}
    if (facetsEl) {
      facetsEl.querySelectorAll('fieldset[data-facet]').forEach(function (fs) {
        var ui = fs.getAttribute('data-facet');
        // A lazy group (a large catalog's publishers) comes with no values: filled like the
        // script's own groups, with a field to find the others.
        var lazy = fs.hasAttribute('data-lazy');
        groups[FIELD[ui] || ui] = { ui: ui, el: fs, own: lazy, lazy: lazy };
      });
    }
    var state = { q: '', filters: {}, size: PAGE };
    var params = new URLSearchParams(location.search);
    state.q = params.get('q') || '';
    input.value = state.q;
    Object.keys(groups).forEach(function (f) {
      var vals = params.getAll(groups[f].ui);
      if (vals.length) state.filters[f] = vals;
    });
    ['tag', 'license', 'needs', 'sso', 'scim', 'signature', 'exposes', 'publisher', 'category', 'license_status', 'origin'].forEach(function (f) {
      if (groups[f]) return;
      var vals = params.getAll(f === 'license' ? 'spdx' : f);
      if (vals.length) state.filters[f] = vals;
    });
    syncChecks();

    var engine = null, seq = 0, timer = null, countedOnce = false;
    var ready = chooseEngine(base).then(function (e) { engine = e; api.mode = e.mode; return e; });

    function uiName(f) { return groups[f] ? groups[f].ui : f === 'license' ? 'spdx' : f; }
    function syncChecks() {
      Object.keys(groups).forEach(function (f) {
        groups[f].el.querySelectorAll('input[type=checkbox]').forEach(function (cb) {
          cb.checked = (state.filters[f] || []).indexOf(cb.value) >= 0;
        });
      });
    }
    function updateURL() {
      var p = new URLSearchParams();
      if (state.q) p.set('q', state.q);
      Object.keys(state.filters).forEach(function (f) {
        state.filters[f].forEach(function (v) { p.append(uiName(f), v); });
      });
      var s = p.toString();
      history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
    }
    function run() {
      var my = ++seq;
      updateURL();
      statusEl && (statusEl.textContent = 'Searching…');
      return ready.then(function (e) {
        return e.search({ q: state.q, filters: state.filters, size: state.size });
      }).then(function (res) {
        if (my !== seq) return;
        render(res);
        // With no query and no filter, the page's own counts are those of the whole catalog:
        // no need to load every facet to count them again. (A lazy group, which has none,
        // is filled by the first query, or finds values by name.)
        if (!state.q && !Object.keys(state.filters).length && !countedOnce) return;
        countedOnce = true;
        return engine.facets(res).then(function (fc) { if (my === seq && fc) renderFacets(fc); });
      }).catch(function (err) {
        if (my !== seq) return;
        if (err.queryError) {
          results.innerHTML = '<div class="notice query-error"><h2>The query has a problem</h2><p><code>' + esc(err.message) +
            '</code></p><p>Close "phrases", check /regular expressions/, or use fewer words.</p></div>';
          statusEl && (statusEl.textContent = 'The query has a problem.');
          return;
        }
        results.innerHTML = '<div class="notice search-unavailable"><h2>Search is unavailable</h2><p>' + esc(err.message) +
          '</p><p>Serve the folder over HTTP: <code>marketplace serve -d public</code>, or any static web server ' +
          '(<code>python3 -m http.server -d public</code>). You can still browse <a href="' + esc(new URL('../products/index.html', base).href) +
          '">all products</a>.</p></div>';
        statusEl && (statusEl.textContent = '');
      });
    }
    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(function () { state.q = input.value; state.size = PAGE; run(); }, 120);
    }
    function render(res) {
      var n = res.total;
      if (statusEl) {
        statusEl.textContent = n === 0 ? 'No products match.' :
          (n === 1 ? '1 product' : n + ' products') + (state.q ? ' match \u201c' + state.q + '\u201d' : '') + '.';
      }
      if (!n) {
        results.innerHTML = '<p class="no-results">No products match' + (state.q ? ' \u201c' + esc(state.q) + '\u201d' : '') +
          '. Try fewer words, or remove a filter.</p>';
        results.setAttribute('data-query', location.search);
        return;
      }
      var html = '<div class="card-grid search-hits">';
      res.hits.forEach(function (h) { html += card(h); });
      html += '</div>';
      if (res.hits.length < n && state.size < MAX_SIZE) html += '<p class="more-results"><button type="button" class="button" id="search-more">Show more</button></p>';
      results.innerHTML = html;
      results.setAttribute('data-query', location.search);
      var more = document.getElementById('search-more');
      if (more) more.addEventListener('click', function () { state.size = Math.min(state.size + PAGE, MAX_SIZE); run(); });
    }
    function card(h) {
      var root = new URL('../', base).href;
      var hl = h.highlights || {};
      var initials = (h.name || h.id).split(/\s+/).slice(0, 2).map(function (w) { return w.charAt(0); }).join('').toUpperCase();
      var hue = 0;
      for (var i = 0; i < h.id.length; i++) hue = (hue * 31 + h.id.charCodeAt(i)) % 360;
      var badges = '';
      if (h.version) badges += '<span class="chip mono" title="Latest version">v' + esc(h.version) + '</span> ';
      badges += h.license_status === 'open' ?
        '<span class="badge badge-open" title="' + esc(h.license) + '">Open license</span> ' :
        '<span class="badge badge-eval" title="' + esc(h.license) + ': not an open license; the core stays usable for evaluation (freemium)">Evaluation license</span> ';
      if (h.signature === 'verified') badges += '<span class="sig sig-ok"><span aria-hidden="true">\u2713</span> Verified</span> ';
      else if (h.signature === 'failed') badges += '<span class="sig sig-bad"><span aria-hidden="true">\u2715</span> Signature failed</span> ';
      else if (h.signature === 'unsigned') badges += '<span class="sig sig-warn"><span aria-hidden="true">!</span> Unsigned</span> ';
      (h.sso || []).forEach(function (k) { badges += '<span class="chip">' + esc((VALUE_LABELS.sso[k] || k)) + '</span> '; });
      if (h.scim) badges += '<span class="chip">SCIM</span> ';
      return '<article class="card search-hit" data-id="' + esc(h.id) + '">' +
        '<div class="card-head">' + (h.logo ?
          '<img class="logo" src="' + esc(root + h.logo) + '" alt="" width="48" height="48" loading="lazy" decoding="async">' :
          '<span class="logo logo-placeholder" style="--hue: ' + hue + '" aria-hidden="true">' + esc(initials) + '</span>') +
        '<div class="card-titles"><h3 class="card-title"><a href="' + esc(root + h.url) + '">' + (hl.name || esc(h.name)) + '</a></h3>' +
        '<p class="card-publisher">' + esc(h.publisher_name || h.publisher) + '</p></div></div>' +
        '<p class="card-summary">' + (hl.summary || esc(h.summary)) + '</p>' +
        (hl.description ? '<p class="card-fragment">' + hl.description + '</p>' : '') +
        '<div class="card-meta">' + badges + '</div></article>';
    }
    function renderFacets(facets) {
      if (!facetsEl) return;
      facets.forEach(function (fc) {
        var f = fc.field, g = groups[f], counts = {};
        fc.values.forEach(function (v) { counts[v.value] = v; });
        if (!g) {
          if (!fc.values.length && !(state.filters[f] || []).length) return;
          var fs = document.createElement('fieldset');
          fs.className = 'facet';
          fs.id = 'facet-' + f;
          fs.setAttribute('data-facet', f);
          fs.innerHTML = '<legend>' + esc(TITLES[f] || f) + '</legend>';
          facetsEl.appendChild(fs);
          g = groups[f] = { ui: f === 'license' ? 'spdx' : f, el: fs, own: true };
        }
        var have = {};
        g.el.querySelectorAll('label').forEach(function (lab) {
          var cb = lab.querySelector('input');
          if (!cb) return;
          have[cb.value] = true;
          var c = counts[cb.value], span = lab.querySelector('.count');
          if (span) span.textContent = c ? c.count : 0;
          lab.style.display = !c && !cb.checked ? 'none' : '';
        });
        if (g.own) {
          var shown = 0;
          fc.values.forEach(function (v) {
            if (have[v.value] || shown >= 12) return;
            shown++;
            var lab = document.createElement('label');
            var label = v.label || (VALUE_LABELS[f] && VALUE_LABELS[f][v.value]) || v.value;
            lab.innerHTML = '<input type="checkbox" name="' + esc(g.ui) + '" value="' + esc(v.value) + '"> ' + esc(label) + ' <span class="count">' + v.count + '</span>';
            g.el.appendChild(lab);
          });
          if (!g.lazy) g.el.style.display = [].some.call(g.el.querySelectorAll('label'), function (l) { return l.style.display !== 'none'; }) ? '' : 'none';
        }
      });
      syncChecks();
    }

    // A lazy group's field finds any of its values by name: the choices come from the facet's
    // file, loaded when the field is first used.
    function choices(g, f) {
      if (!g.choices) {
        var idx = engine && engine.index;
        g.choices = idx ? idx.load().then(function () { return idx.values(f); }).then(function (fd) {
          var dl = g.el.querySelector('datalist');
          if (dl) dl.innerHTML = fd.values.map(function (v, i) { return '<option value="' + esc(fd.labels[i] || v) + '">'; }).join('');
          return fd;
        }) : Promise.reject(new Error('no index'));
        g.choices.catch(function () { g.choices = null; });
      }
      return g.choices;
    }
    function findValue(inp) {
      var fs = inp.closest('fieldset[data-facet]'), ui = fs.getAttribute('data-facet'), f = FIELD[ui] || ui, g = groups[f];
      return { f: f, g: g };
    }
    if (facetsEl) facetsEl.addEventListener('focusin', function (ev) {
      if (ev.target.classList && ev.target.classList.contains('facet-find')) {
        var x = findValue(ev.target);
        ready.then(function () { return choices(x.g, x.f); }).catch(function () {});
      }
    });
    function pick(inp) {
      var x = findValue(inp), t = inp.value.trim().toLowerCase();
      if (!t) return;
      ready.then(function () { return choices(x.g, x.f); }).then(function (fd) {
        var i = -1;
        fd.values.forEach(function (v, k) { if (i < 0 && (v.toLowerCase() === t || (fd.labels[k] || '').toLowerCase() === t)) i = k; });
        if (i < 0) return;
        var v = fd.values[i], vals = state.filters[x.f] || [];
        if (vals.indexOf(v) < 0) vals.push(v);
        state.filters[x.f] = vals;
        var have = [].some.call(x.g.el.querySelectorAll('input[type=checkbox]'), function (cb) { return cb.value === v; });
        if (!have) {
          var lab = document.createElement('label');
          lab.innerHTML = '<input type="checkbox" name="' + esc(x.g.ui) + '" value="' + esc(v) + '"> ' + esc(fd.labels[i] || v) + ' <span class="count"></span>';
          x.g.el.appendChild(lab);
        }
        inp.value = '';
        state.size = PAGE;
        run();
      }).catch(function () {});
    }

    input.addEventListener('input', schedule);
    if (form) form.addEventListener('submit', function (ev) { ev.preventDefault(); clearTimeout(timer); state.q = input.value; state.size = PAGE; run(); });
    if (facetsEl) facetsEl.addEventListener('change', function (ev) {
      var cb = ev.target;
      if (cb && cb.classList && cb.classList.contains('facet-find')) { pick(cb); return; }
      if (!cb || cb.type !== 'checkbox') return;
      var fs = cb.closest('fieldset[data-facet]'), ui = fs.getAttribute('data-facet'), f = FIELD[ui] || ui;
      var vals = (state.filters[f] || []).filter(function (v) { return v !== cb.value; });
      if (cb.checked) vals.push(cb.value);
      if (vals.length) state.filters[f] = vals; else delete state.filters[f];
      state.size = PAGE;
      run();
    });
    api.ready = ready;
    run();
  }

  // window.marketplaceSearch is for tests and the curious: the analyzer, and both engines.
  var api = window.marketplaceSearch = {
    analyze: function (text) { return terms(text); },
    staticSearch: function (q, filters, size) {
      var idx = api.staticIndex = api.staticIndex || new StaticIndex(new URL('../api/v1/search.json', document.baseURI).href);
      if (api.maxRows) idx.maxRows = api.maxRows;
      return idx.load().then(function () { return idx.search(q, filters, null, size || 20); }).then(function (matched) {
        return idx.facetCounts(matched).then(function (facets) {
          return { total: matched.length, hits: matched.slice(0, size || 20).map(function (m) { return { doc: m[0], score: m[1] }; }), facets: facets };
        });
      }).then(function (res) {
        return idx.docs(res.hits.map(function (h) { return h.doc; })).then(function (docs) {
          res.hits.forEach(function (h, i) { h.id = docs[i].id; });
          return res;
        });
      });
    }
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
