'use strict';
// An SMSC for statusgw tests and benchmarks. The SMPP protocol work (framing, PDU fields,
// text decoding of submit_sm) is the smpp package's own, so a codec mistake in the gateway
// cannot cancel itself out against a simulator written alongside it.
//
// Control: one JSON command per stdin line, one JSON event per stdout line. Every command is
// answered by exactly one {"event":"ok"|"error","cmd":..,"req":..} event; everything the SMPP
// side does afterwards arrives as further events. Closing stdin stops the process.
//
// Sessions: a session is unbound until a bind_* PDU with the right credentials arrives.
// Transmitter and transceiver sessions may submit; receiver and transceiver sessions receive
// MO and receipts (round-robin across them). Accepted submits (status 0) are reassembled
// (8/16-bit UDH or SAR TLVs) into "mt" events; rejected or unanswered ones are not.

const smpp = require('smpp');
const readline = require('readline');

const E = smpp.errors;
const DATA_CODING = { gsm: 0, latin1: 3, ucs2: 8 };
const CODER = { 0: smpp.encodings.ASCII, 3: smpp.encodings.LATIN1, 8: smpp.encodings.UCS2 };
const PART_BYTES = { 0: 153, 3: 134, 8: 134 }; // payload bytes per part once the UDH is in
const RECEIPT_STATE = { DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };
const MAX_REMEMBERED = 200000; // submitted messages kept for receipts / partial MTs kept
const MAX_LOAD_ATTEMPTS = 5; // deliver_sm attempts per load MO (rejected or connection lost)
const LOAD_RETRY_MS = 20; // wait before resending a rejected load MO

const args = parseArgs(process.argv.slice(2));
const state = {
  sessions: new Map(),
  nextSessionId: 1,
  nextMoId: 1,
  nextRef: 1,
  rr: 0,
  port: null,
  messageCounter: Math.floor(Math.random() * 0x7fffffff) * 256,
  submitFaults: [],
  submitted: new Map(),
  assembling: new Map(),
  load: null,
  config: {
    message_id_format: args.messageIdFormat,
    receipt_id_format: 'same',
    auto_receipts: 'off',
    receipt_before_resp: false,
    answer_enquire_link: true,
    quiet: false,
    mo_before_bind_resp: null,
  },
};

function parseArgs(argv) {
  const out = { host: '127.0.0.1', port: 0, systemId: 'statusgw', password: 'secret', messageIdFormat: 'hex' };
  for (let i = 0; i + 1 < argv.length; i += 2) {
    const value = argv[i + 1];
    if (argv[i] === '--port') out.port = Number(value);
    else if (argv[i] === '--host') out.host = value;
    else if (argv[i] === '--system-id') out.systemId = value;
    else if (argv[i] === '--password') out.password = value;
    else if (argv[i] === '--message-id-format') out.messageIdFormat = value;
    else throw new Error('unknown option ' + argv[i]);
  }
  return out;
}

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event }, fields)) + '\n');
}

function chatty() {
  return !state.config.quiet && !state.load;
}

// ---- server and sessions ----------------------------------------------------------------

const server = smpp.createServer((session) => {
  const s = { id: state.nextSessionId++, session, mode: null, systemId: null, pending: new Map() };
  session.socket.setNoDelay(true); // with Nagle on, each small PDU behind an unacked one waits ~40 ms
  session.socket.prependListener('readable', () => corkForThisTick(session.socket));
  state.sessions.set(s.id, s);
  session.on('pdu', (pdu) => onPdu(s, pdu));
  session.on('error', (err) => {
    emit('session_error', { session: s.id, error: String(err.message || err) });
    session.destroy(); // the smpp package stops reading after a decode error; do not linger
  });
  session.on('close', () => onClose(s));
  emit('connect', { session: s.id, peer: session.socket.remotePort });
});
server.on('error', (err) => emit('server_error', { error: String(err.message || err) }));

// Answers to all PDUs read in one go leave in one write instead of one syscall each.
function corkForThisTick(socket) {
  socket.cork();
  process.nextTick(() => socket.uncork());
}

function listen(port) {
  server.listen(port, args.host, () => {
    state.port = server.address().port;
    emit('listening', { port: state.port });
  });
}

const BIND_MODES = { bind_transceiver: 'transceiver', bind_transmitter: 'transmitter', bind_receiver: 'receiver' };
const HANDLERS = {
  submit_sm: onSubmit,
  enquire_link: onEnquireLink,
  unbind: onUnbind,
  unbind_resp: () => {},
  generic_nack: (s, pdu) =>
    emit('generic_nack', { session: s.id, seq: pdu.sequence_number, status: pdu.command_status }),
};

function onPdu(s, pdu) {
  if (BIND_MODES[pdu.command]) return onBind(s, pdu, BIND_MODES[pdu.command]);
  if (HANDLERS[pdu.command]) return HANDLERS[pdu.command](s, pdu);
  if (pdu.isResponse()) return; // deliver_sm_resp and enquire_link_resp go to their callbacks
  emit('unsupported_pdu', { session: s.id, command: pdu.command, command_id: pdu.command_id });
  const nack = new smpp.PDU('generic_nack', { sequence_number: pdu.sequence_number, command_status: E.ESME_RINVCMDID });
  s.session.send(nack);
}

function onBind(s, pdu, mode) {
  let status = E.ESME_ROK;
  if (s.mode) status = E.ESME_RALYBND;
  else if (pdu.system_id !== args.systemId) status = E.ESME_RINVSYSID;
  else if (pdu.password !== args.password) status = E.ESME_RINVPASWD;
  emit('bind', {
    session: s.id, mode, status, system_id: pdu.system_id, system_type: pdu.system_type,
    interface_version: pdu.interface_version, address_range: pdu.address_range,
  });
  const early = state.config.mo_before_bind_resp;
  if (status === E.ESME_ROK && early && mode !== 'transmitter') {
    state.config.mo_before_bind_resp = null;
    sendMo(Object.assign({}, early, { session: s.id }), s, 'early');
  }
  s.session.send(pdu.response({ command_status: status, system_id: 'statusgw-smsc' }));
  if (status !== E.ESME_ROK) return;
  s.mode = mode;
  s.systemId = pdu.system_id;
  if (state.load) state.load.pump();
}

function onClose(s) {
  state.sessions.delete(s.id);
  emit('close', { session: s.id, mode: s.mode });
  const lost = Array.from(s.pending.values());
  s.pending.clear();
  lost.forEach((onLost) => onLost());
}

function onEnquireLink(s, pdu) {
  const answered = state.config.answer_enquire_link;
  if (answered) s.session.send(pdu.response());
  if (chatty()) emit('enquire_link', { session: s.id, answered });
}

function onUnbind(s, pdu) {
  emit('unbind', { session: s.id, mode: s.mode });
  s.mode = null;
  s.session.send(pdu.response());
}

function receivers() {
  return Array.from(state.sessions.values()).filter((s) => s.mode === 'receiver' || s.mode === 'transceiver');
}

function pickReceiver(sessionId) {
  if (sessionId !== undefined && sessionId !== null) {
    const s = state.sessions.get(sessionId);
    if (!s) throw new Error('no session ' + sessionId);
    return s;
  }
  const list = receivers();
  if (!list.length) return null;
  state.rr = (state.rr + 1) % list.length;
  return list[state.rr];
}

// Send a request and call back with the response status (or null when the session died first).
function request(s, command, fields, done) {
  const pdu = new smpp.PDU(command, fields);
  let settled = false;
  const finish = (status) => {
    if (settled) return;
    settled = true;
    s.pending.delete(pdu);
    done(status);
  };
  s.pending.set(pdu, () => finish(null));
  if (!s.session.send(pdu, (resp) => finish(resp.command_status))) finish(null);
}

// ---- submit_sm ------------------------------------------------------------------------------

function nextMessageId(format) {
  state.messageCounter += 1;
  return formatId(state.messageCounter, format);
}

function formatId(n, format) {
  return format === 'dec' ? String(n) : n.toString(16);
}

function describeSubmit(s, pdu) {
  const inPayload = pdu.message_payload && pdu.message_payload.message !== undefined;
  const body = inPayload ? pdu.message_payload : pdu.short_message;
  const message = body && body.message !== undefined ? body.message : body;
  const udh = concatInfo(body && body.udh, pdu);
  return {
    session: s.id, seq: pdu.sequence_number,
    source: pdu.source_addr, source_ton: pdu.source_addr_ton, source_npi: pdu.source_addr_npi,
    destination: pdu.destination_addr, dest_ton: pdu.dest_addr_ton, dest_npi: pdu.dest_addr_npi,
    data_coding: pdu.data_coding, esm_class: pdu.esm_class, registered_delivery: pdu.registered_delivery,
    service_type: pdu.service_type, validity_period: pdu.validity_period || null,
    payload: Boolean(inPayload),
    text: typeof message === 'string' ? message : null,
    hex: Buffer.isBuffer(message) ? message.toString('hex') : null,
    udh, unknown_tlvs: unknownTlvs(pdu),
  };
}

function concatInfo(udhList, pdu) {
  for (const ie of udhList || []) {
    if (ie[0] === 0x00 && ie.length >= 5) return { via: 'udh', bits: 8, ref: ie[2], total: ie[3], seq: ie[4] };
    if (ie[0] === 0x08 && ie.length >= 6) {
      return { via: 'udh', bits: 16, ref: ie.readUInt16BE(2), total: ie[4], seq: ie[5] };
    }
  }
  if (pdu.sar_msg_ref_num !== undefined) {
    const { sar_msg_ref_num: ref, sar_total_segments: total, sar_segment_seqnum: seq } = pdu;
    return { via: 'sar', bits: 16, ref, total, seq };
  }
  return null;
}

function unknownTlvs(pdu) {
  const out = {};
  for (const key of Object.keys(pdu)) if (/^\d+$/.test(key)) out[key] = pdu[key].toString('hex');
  return Object.keys(out).length ? out : undefined;
}

function onSubmit(s, pdu) {
  if (s.mode !== 'transmitter' && s.mode !== 'transceiver') {
    s.session.send(pdu.response({ command_status: E.ESME_RINVBNDSTS }));
    return emit('submit_sm', { session: s.id, status: E.ESME_RINVBNDSTS, message_id: null });
  }
  const fault = state.submitFaults.length ? state.submitFaults[0] : null;
  if (fault && --fault.count <= 0) state.submitFaults.shift();
  const info = describeSubmit(s, pdu);
  const silent = Boolean(fault && fault.silent);
  const status = fault && !silent ? fault.status : E.ESME_ROK;
  info.status = silent ? null : status;
  info.message_id = status === E.ESME_ROK && !silent ? nextMessageId(state.config.message_id_format) : null;
  if (chatty()) emit('submit_sm', info);
  if (silent) return;
  const resp = pdu.response({ command_status: status, message_id: info.message_id || '' });
  if (status !== E.ESME_ROK) return s.session.send(resp);
  remember(state.submitted, info.message_id, info);
  const wantsReceipt = state.config.auto_receipts === 'always' ||
    (state.config.auto_receipts === 'requested' && (info.registered_delivery & 0x03) !== 0);
  if (wantsReceipt && state.config.receipt_before_resp) {
    sendReceipt({ message_id: info.message_id }, () => s.session.send(resp));
  } else {
    s.session.send(resp);
    if (wantsReceipt) sendReceipt({ message_id: info.message_id });
  }
  assemble(info);
}

function remember(map, key, value) {
  map.set(key, value);
  if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value);
}

function assemble(info) {
  if (!info.udh || info.udh.total <= 1) return completeMt(info, [info]);
  const u = info.udh;
  const key = [info.source, info.destination, u.via, u.bits, u.ref, u.total].join('|');
  let entry = state.assembling.get(key);
  if (!entry) {
    entry = new Map();
    remember(state.assembling, key, entry);
  }
  if (entry.has(u.seq)) {
    if (chatty()) emit('mt_part_duplicate', { source: info.source, destination: info.destination, concat: u });
    if (state.load) state.load.partDuplicates += 1;
    return;
  }
  entry.set(u.seq, info);
  if (entry.size < u.total) return;
  state.assembling.delete(key);
  const parts = [];
  for (let i = 1; i <= u.total; i++) parts.push(entry.get(i));
  if (parts.some((p) => !p)) return emit('mt_bad_parts', { key, seqs: Array.from(entry.keys()) });
  completeMt(info, parts);
}

function completeMt(info, parts) {
  const texts = parts.map((p) => p.text);
  const mt = {
    source: info.source, destination: info.destination, data_coding: parts[0].data_coding,
    parts: parts.length, text: texts.every((t) => t !== null) ? texts.join('') : null,
    part_texts: texts, message_ids: parts.map((p) => p.message_id), concat: info.udh,
  };
  if (state.load) return state.load.onMt(mt);
  if (chatty()) emit('mt', mt);
}

// ---- MO and receipts -------------------------------------------------------------------------

function encodeMo(cmd) {
  const dataCoding = cmd.data_coding !== undefined ? cmd.data_coding : DATA_CODING[cmd.encoding || 'gsm'];
  if (dataCoding === undefined) throw new Error('unknown encoding ' + cmd.encoding);
  if (cmd.hex !== undefined) return { dataCoding, bytes: Buffer.from(cmd.hex, 'hex') };
  const coder = CODER[dataCoding];
  if (!coder) throw new Error('no text coder for data_coding ' + dataCoding + '; send hex');
  if (dataCoding === 0 && !coder.match(cmd.text)) throw new Error('text is not GSM-7: ' + cmd.text);
  return { dataCoding, bytes: coder.encode(cmd.text) };
}

// Cut a byte string into parts without splitting a GSM escape or a UTF-16 surrogate pair.
function splitBytes(bytes, size, dataCoding) {
  const parts = [];
  for (let start = 0; start < bytes.length && parts.length < 255;) {
    let end = Math.min(start + size, bytes.length);
    if (dataCoding === 8 && end < bytes.length) {
      end -= (end - start) % 2;
      if (bytes[end - 2] >= 0xd8 && bytes[end - 2] <= 0xdb) end -= 2;
    } else if (dataCoding === 0 && end < bytes.length && bytes[end - 1] === 0x1b) {
      end -= 1;
    }
    parts.push(bytes.subarray(start, end));
    start = end;
  }
  return parts;
}

function moPdus(cmd) {
  const { dataCoding, bytes } = encodeMo(cmd);
  const base = {
    service_type: cmd.service_type || '', source_addr_ton: cmd.source_ton ?? 1, source_addr_npi: cmd.source_npi ?? 1,
    source_addr: cmd.source || '84912345678', dest_addr_ton: cmd.dest_ton ?? 0, dest_addr_npi: cmd.dest_npi ?? 0,
    destination_addr: cmd.destination || '8283', esm_class: cmd.esm_class || 0, data_coding: dataCoding,
  };
  const split = cmd.split || 'none';
  if (split === 'none') return [Object.assign(base, { short_message: bytes })];
  if (split === 'payload') return [Object.assign(base, { short_message: Buffer.alloc(0), message_payload: bytes })];
  if (!['udh8', 'udh16', 'sar'].includes(split)) throw new Error('unknown split ' + split);
  const chunks = splitBytes(bytes, cmd.part_bytes || PART_BYTES[dataCoding] || 134, dataCoding);
  const ref = cmd.ref ?? (split === 'udh8' ? state.nextRef++ % 256 : state.nextRef++ % 65536);
  const total = chunks.length;
  return chunks.map((chunk, i) => {
    const pdu = Object.assign({}, base);
    if (split === 'sar') {
      const sar = { sar_msg_ref_num: ref, sar_total_segments: total, sar_segment_seqnum: i + 1 };
      return Object.assign(pdu, sar, { short_message: chunk });
    }
    const udh = split === 'udh8'
      ? Buffer.from([5, 0x00, 3, ref, total, i + 1])
      : Buffer.from([6, 0x08, 4, ref >> 8, ref & 0xff, total, i + 1]);
    return Object.assign(pdu, { esm_class: base.esm_class | 0x40, short_message: Buffer.concat([udh, chunk]) });
  });
}

function sendMo(cmd, target, via) {
  const s = target || pickReceiver(cmd.session);
  if (!s) throw new Error('no receiver or transceiver session is bound');
  const pdus = moPdus(cmd);
  const order = cmd.order || pdus.map((_, i) => i + 1);
  if (order.some((partNo) => !pdus[partNo - 1])) throw new Error('order names a part that does not exist');
  const id = cmd.id || 'mo-' + state.nextMoId++;
  const statuses = new Array(order.length).fill(undefined);
  let left = order.length;
  order.forEach((partNo, k) => {
    request(s, 'deliver_sm', Object.assign({}, pdus[partNo - 1]), (status) => {
      statuses[k] = status;
      emit('deliver_sm_resp', { id, part: partNo, status, session: s.id });
      if (--left === 0) {
        const bad = statuses.find((st) => st !== 0);
        emit(statuses.includes(null) ? 'mo_lost' : 'mo_acked', { id, status: bad === undefined ? 0 : bad, statuses });
      }
    });
  });
  return { id, parts: pdus.length, sent: order.length, session: s.id, via };
}

function receiptDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  const fields = [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()];
  return fields.map(p).join('');
}

function receiptTextId(messageId, format) {
  const cur = state.config.message_id_format;
  if (format === 'same' || format === cur) return messageId;
  const n = cur === 'hex' ? BigInt('0x' + messageId) : BigInt(messageId);
  return format === 'dec' ? n.toString(10) : n.toString(16);
}

function sendReceipt(cmd, afterWrite) {
  const known = state.submitted.get(cmd.message_id) || {};
  const stat = cmd.stat || 'DELIVRD';
  const now = new Date();
  const textId = receiptTextId(cmd.message_id, cmd.id_format || state.config.receipt_id_format);
  const text = `id:${textId} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} ` +
    `submit date:${receiptDate(now)} done date:${receiptDate(now)} stat:${stat} err:${cmd.err || '000'} ` +
    `text:${(cmd.text ?? known.text ?? '').slice(0, 20).replace(/[^\x20-\x7e]/g, '?')}`;
  const fields = {
    source_addr_ton: 1, source_addr_npi: 1, source_addr: cmd.source || known.destination || '',
    dest_addr_ton: 0, dest_addr_npi: 0, destination_addr: cmd.destination || known.source || '',
    esm_class: 0x04, data_coding: 0, short_message: smpp.encodings.ASCII.encode(text),
    receipted_message_id: cmd.message_id, message_state: cmd.state ?? RECEIPT_STATE[stat] ?? 7,
  };
  const s = pickReceiver(cmd.session);
  if (!s) {
    emit('receipt_undeliverable', { message_id: cmd.message_id });
    if (afterWrite) afterWrite();
    return null;
  }
  request(s, 'deliver_sm', fields, (status) => {
    if (chatty()) emit('receipt_acked', { message_id: cmd.message_id, status, session: s.id });
  });
  if (afterWrite) setImmediate(afterWrite); // the receipt PDU is already queued on its socket
  if (chatty()) emit('receipt_sent', { message_id: cmd.message_id, text, session: s.id });
  return { message_id: cmd.message_id, text, session: s.id };
}

// ---- load mode -------------------------------------------------------------------------------

// Pushes n MO "KEYWORD code" from distinct senders with at most `window` unacknowledged
// deliver_sm, and matches each complete MT to its MO by destination (= the MO's sender),
// then checks that the MO's code is in the decoded text.
class LoadRun {
  constructor(cmd) {
    this.codes = cmd.codes;
    if (!Array.isArray(this.codes) || !this.codes.length) throw new Error('load needs codes');
    this.n = cmd.n;
    this.window = cmd.window || 100;
    this.keyword = cmd.keyword || 'TRA';
    this.destination = cmd.destination || '8283';
    this.prefix = cmd.source_prefix || '849';
    this.settleMs = cmd.settle_ms ?? 200;
    this.expectReplies = cmd.expect_replies ?? true;
    this.maxAttempts = cmd.max_attempts ?? MAX_LOAD_ATTEMPTS; // 0: until the deadline
    this.retryMs = cmd.retry_ms ?? LOAD_RETRY_MS;
    this.rate = cmd.rate || 0; // new MO per second (0: as fast as the window allows)
    this.paceTimer = null;
    this.texts = new Map(); // code -> encoded MO text, encoded once by the smpp package
    this.mos = [];
    this.bySource = new Map();
    this.retry = [];
    this.inflight = 0;
    this.next = 0;
    this.counts = {
      mo_sent: 0, mo_acked: 0, mo_rejected: 0, mo_resent: 0,
      replies: 0, mt_total: 0, duplicates: 0, unmatched: 0, wrong_text: 0,
    };
    this.partDuplicates = 0;
    this.rejectStatuses = {};
    this.wrongSamples = [];
    this.latencies = [];
    this.started = process.hrtime.bigint();
    this.lastReply = this.started;
    this.lastAck = this.started;
    this.deadline = setTimeout(() => this.finish('deadline'), cmd.deadline_ms || 120000);
  }

  mo(i) {
    if (!this.mos[i]) {
      const source = this.prefix + String(i + 1).padStart(11 - this.prefix.length, '0');
      this.mos[i] = { code: this.codes[i % this.codes.length], source, firstSent: null, attempts: 0, replies: 0 };
      this.bySource.set(source, i);
    }
    return this.mos[i];
  }

  // With a rate, a new MO waits for its turn (resends do not); a timer picks up the pace.
  paced() {
    if (!this.rate || this.retry.length || this.next >= this.n) return false;
    const elapsed = Number(process.hrtime.bigint() - this.started) / 1e9;
    if (this.next < this.rate * elapsed) return false;
    if (!this.paceTimer && !this.done) {
      this.paceTimer = setTimeout(() => { this.paceTimer = null; this.pump(); }, Math.max(1, 1000 / this.rate));
    }
    return true;
  }

  pump() {
    for (let budget = this.window; budget > 0 && this.inflight < this.window; budget--) {
      if (this.paced()) return;
      const i = this.retry.length ? this.retry.shift() : this.next < this.n ? this.next++ : -1;
      if (i < 0) return;
      const s = pickReceiver();
      if (!s) {
        this.retry.unshift(i);
        return;
      }
      if (!s.corked) {
        s.corked = true;
        corkForThisTick(s.session.socket);
        process.nextTick(() => { s.corked = false; });
      }
      this.send(s, i);
    }
  }

  send(s, i) {
    const mo = this.mo(i);
    mo.attempts += 1;
    if (mo.firstSent === null) mo.firstSent = process.hrtime.bigint();
    else this.counts.mo_resent += 1;
    this.inflight += 1;
    this.counts.mo_sent += 1;
    const fields = {
      source_addr_ton: 1, source_addr_npi: 1, source_addr: mo.source, destination_addr: this.destination,
      data_coding: 0, short_message: this.text(mo.code),
    };
    request(s, 'deliver_sm', fields, (status) => this.onAck(i, status));
  }

  text(code) {
    if (!this.texts.has(code)) this.texts.set(code, smpp.encodings.ASCII.encode(this.keyword + ' ' + code));
    return this.texts.get(code);
  }

  onAck(i, status) {
    if (this.done) return;
    this.inflight -= 1;
    if (status === 0) {
      this.counts.mo_acked += 1;
      this.lastAck = process.hrtime.bigint();
      if (!this.expectReplies && this.counts.mo_acked === this.n) this.settle();
    } else {
      if (status !== null) this.counts.mo_rejected += 1;
      this.rejectStatuses[status] = (this.rejectStatuses[status] || 0) + 1;
      if (!this.maxAttempts || this.mos[i].attempts < this.maxAttempts) {
        setTimeout(() => { this.retry.push(i); this.pump(); }, status === null ? 0 : this.retryMs);
      }
    }
    this.pump();
  }

  onMt(mt) {
    if (this.done) return;
    this.counts.mt_total += 1;
    const i = this.bySource.get(mt.destination.replace(/^\+/, ''));
    if (i === undefined) return void (this.counts.unmatched += 1);
    const mo = this.mos[i];
    mo.replies += 1;
    if (mo.replies > 1) return void (this.counts.duplicates += 1);
    const text = mt.text || '';
    if (!text.toUpperCase().includes(mo.code.toUpperCase())) {
      this.counts.wrong_text += 1;
      if (this.wrongSamples.length < 3) this.wrongSamples.push({ code: mo.code, text });
    }
    this.counts.replies += 1;
    this.lastReply = process.hrtime.bigint();
    this.latencies.push(Number(this.lastReply - mo.firstSent) / 1e6);
    if (this.counts.replies === this.n) this.settle();
  }

  settle() {
    if (!this.settling) this.settling = setTimeout(() => this.finish('complete'), this.settleMs);
  }

  finish(reason) {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.deadline);
    clearTimeout(this.paceTimer);
    clearTimeout(this.settling);
    state.load = null;
    const elapsedMs = Number(this.lastReply - this.started) / 1e6;
    const ackedMs = Number(this.lastAck - this.started) / 1e6;
    const sorted = Float64Array.from(this.latencies).sort();
    const pct = (q) => (sorted.length ? round(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]) : null);
    const mean = sorted.length ? round(sorted.reduce((a, b) => a + b, 0) / sorted.length) : null;
    emit('load_report', Object.assign({ reason, n: this.n, window: this.window }, this.counts, {
      missing: this.n - this.counts.replies, part_duplicates: this.partDuplicates,
      reject_statuses: this.rejectStatuses, wrong_samples: this.wrongSamples,
      elapsed_ms: round(elapsedMs), acked_ms: round(ackedMs), mo_rate: round(this.counts.mo_acked / (ackedMs / 1000)),
      reply_rate: round(this.counts.replies / (elapsedMs / 1000)),
      latency_ms: { p50: pct(0.5), p90: pct(0.9), p95: pct(0.95), p99: pct(0.99), max: pct(1), mean },
    }));
  }
}

function round(x) {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null;
}

// ---- commands ---------------------------------------------------------------------------------

function eachSession(cmd, fn) {
  const list = cmd.session ? [state.sessions.get(cmd.session)].filter(Boolean) : Array.from(state.sessions.values());
  list.forEach(fn);
  return { sessions: list.map((s) => s.id) };
}

const COMMANDS = {
  mo: (cmd) => sendMo(cmd),
  receipt: (cmd) => {
    if (!cmd.message_id) throw new Error('receipt needs message_id');
    const sent = sendReceipt(cmd);
    if (!sent) throw new Error('no receiver or transceiver session is bound');
    return sent;
  },
  config: (cmd) => {
    for (const key of Object.keys(cmd)) {
      if (key === 'cmd' || key === 'req') continue;
      if (!(key in state.config)) throw new Error('unknown config key ' + key);
      state.config[key] = cmd[key];
    }
    return { config: state.config };
  },
  submit_fault: (cmd) => {
    const fault = { status: cmd.status ?? E.ESME_RSYSERR, silent: Boolean(cmd.silent), count: cmd.count || 1 };
    state.submitFaults.push(fault);
    return { queued: state.submitFaults.length };
  },
  enquire_link: (cmd) => eachSession(cmd, (s) => {
    request(s, 'enquire_link', {}, (status) => emit('enquire_link_resp', { session: s.id, status }));
  }),
  unbind: (cmd) => eachSession(cmd, (s) => {
    request(s, 'unbind', {}, (status) => emit('unbind_resp', { session: s.id, status }));
  }),
  pause: (cmd) => eachSession(cmd, (s) => s.session.pause()),
  resume: (cmd) => eachSession(cmd, (s) => s.session.resume()),
  close: (cmd) => eachSession(cmd, (s) => s.session.close()),
  destroy: (cmd) => eachSession(cmd, (s) => s.session.destroy()),
  stop_listening: () => {
    server.close();
    return {};
  },
  listen: (cmd) => {
    listen(cmd.port || state.port || args.port);
    return {};
  },
  sessions: () => ({
    sessions: Array.from(state.sessions.values()).map((s) => ({ id: s.id, mode: s.mode, system_id: s.systemId })),
  }),
  load: (cmd) => {
    if (state.load) throw new Error('a load run is already active');
    state.load = new LoadRun(cmd);
    state.load.pump();
    return { n: cmd.n };
  },
  load_stop: () => {
    if (state.load) state.load.finish('stopped');
    return {};
  },
};

function onCommandLine(line) {
  if (!line.trim()) return;
  let cmd = {};
  try {
    cmd = JSON.parse(line);
    const handler = COMMANDS[cmd.cmd];
    if (!handler) throw new Error('unknown command ' + cmd.cmd);
    emit('ok', Object.assign({ cmd: cmd.cmd, req: cmd.req }, handler(cmd)));
  } catch (err) {
    emit('error', { cmd: cmd.cmd, req: cmd.req, error: String(err.message || err) });
  }
}

function shutdown() {
  server.close();
  state.sessions.forEach((s) => s.session.destroy());
  process.exit(0);
}

readline.createInterface({ input: process.stdin }).on('line', onCommandLine).on('close', shutdown);
listen(args.port);
