/**
 * The one error registry of the codec.
 *
 * Every malformed input becomes a BgpError carrying the NOTIFICATION code, subcode and the exact
 * Data field the RFC prescribes, plus its RFC 7606 disposition. The decoder throws nothing else
 * (a programming error aside): the session driver catches BgpError at the message boundary and
 * hands it to the FSM, which turns a session-reset error into a NOTIFICATION.
 */

/** RFC 4271 §4.5 error codes (7 from RFC 7313). */
export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FiniteStateMachine: 5,
  Cease: 6,
  RouteRefreshMessage: 7,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** RFC 4271 §6.1. */
export const HeaderSubcode = {
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const;

/** RFC 4271 §6.2, RFC 5492 §5 (7), RFC 9234 §4.2 (11). */
export const OpenSubcode = {
  Unspecific: 0,
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;

/** RFC 4271 §6.3. */
export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOriginAttribute: 6,
  InvalidNextHopAttribute: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

/** RFC 6608 §3. */
export const FsmSubcode = {
  Unspecified: 0,
  UnexpectedMessageInOpenSent: 1,
  UnexpectedMessageInOpenConfirm: 2,
  UnexpectedMessageInEstablished: 3,
} as const;

/** RFC 4486 §4, RFC 8538 §3 (9), RFC 9384 (10). */
export const CeaseSubcode = {
  MaximumNumberOfPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
  BfdDown: 10,
} as const;

/** RFC 7313 §5. */
export const RouteRefreshSubcode = {
  InvalidMessageLength: 1,
} as const;

/**
 * RFC 7606 §2: how an error is handled. Ordered weakest to strongest so the UPDATE decoder can
 * keep the strongest one it has seen (§3 (j) "the one that is most severe").
 */
export const DISPOSITIONS = ['attribute-discard', 'treat-as-withdraw', 'afisafi-disable', 'session-reset'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

export function strongerDisposition(a: Disposition, b: Disposition): Disposition {
  return DISPOSITIONS.indexOf(a) >= DISPOSITIONS.indexOf(b) ? a : b;
}

const EMPTY = new Uint8Array(0);

const CODE_NAMES: Record<number, string> = {
  1: 'Message header error',
  2: 'OPEN message error',
  3: 'UPDATE message error',
  4: 'Hold timer expired',
  5: 'Finite state machine error',
  6: 'Cease',
  7: 'ROUTE-REFRESH message error',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'Connection not synchronized', 2: 'Bad message length', 3: 'Bad message type' },
  2: {
    0: 'Unspecific',
    1: 'Unsupported version number',
    2: 'Bad peer AS',
    3: 'Bad BGP identifier',
    4: 'Unsupported optional parameter',
    5: 'Authentication failure',
    6: 'Unacceptable hold time',
    7: 'Unsupported capability',
    11: 'Role mismatch',
  },
  3: {
    1: 'Malformed attribute list',
    2: 'Unrecognized well-known attribute',
    3: 'Missing mandatory attribute',
    4: 'Invalid attribute flags',
    5: 'Invalid attribute length',
    6: 'Invalid ORIGIN attribute',
    7: 'AS routing loop',
    8: 'Invalid NEXT_HOP attribute',
    9: 'Optional attribute error',
    10: 'Invalid network field',
    11: 'Malformed AS_PATH',
  },
  4: {},
  5: {
    0: 'Unspecified error',
    1: 'Unexpected message in OpenSent state',
    2: 'Unexpected message in OpenConfirm state',
    3: 'Unexpected message in Established state',
  },
  6: {
    1: 'Maximum number of prefixes reached',
    2: 'Administrative shutdown',
    3: 'Peer de-configured',
    4: 'Administrative reset',
    5: 'Connection rejected',
    6: 'Other configuration change',
    7: 'Connection collision resolution',
    8: 'Out of resources',
    9: 'Hard reset',
    10: 'BFD down',
  },
  7: { 1: 'Invalid message length' },
};

/**
 * Human text for a (code, subcode) pair, in BIRD's wording where BIRD has one (BIRD prints
 * "Received: Bad peer AS" / "BGP Error: Hold timer expired" with these strings).
 */
export function describeError(code: number, subcode: number): string {
  const sub = SUBCODE_NAMES[code]?.[subcode];
  if (sub !== undefined) return sub;
  const name = CODE_NAMES[code];
  if (name === undefined) return `Unknown error ${code}/${subcode}`;
  return subcode === 0 ? name : `${name} (${subcode})`;
}

export class BgpError extends Error {
  override readonly name = 'BgpError';
  readonly code: number;
  readonly subcode: number;
  /** The NOTIFICATION Data field, exactly as the RFC prescribes for this error. */
  readonly data: Uint8Array;
  readonly disposition: Disposition;
  /** For attribute errors: the attribute type code concerned (used for attribute-discard). */
  readonly attrType: number | undefined;

  constructor(
    code: number,
    subcode: number,
    data: Uint8Array = EMPTY,
    disposition: Disposition = 'session-reset',
    detail?: string,
    attrType?: number,
  ) {
    const base = describeError(code, subcode);
    super(detail === undefined ? base : `${base}: ${detail}`);
    this.code = code;
    this.subcode = subcode;
    // Copy: the data may be a view of a socket chunk that is reused after this error is raised.
    this.data = Uint8Array.from(data);
    this.disposition = disposition;
    this.attrType = attrType;
  }

  /** The same error with another disposition (RFC 7606 rules decide it per attribute). */
  withDisposition(disposition: Disposition): BgpError {
    return new BgpError(this.code, this.subcode, this.data, disposition, this.message, this.attrType);
  }
}

export function isBgpError(e: unknown): e is BgpError {
  return e instanceof BgpError;
}

function u16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

/**
 * Factories: each cites the rule that fixes its Data field. Call sites never build a BgpError by
 * hand with bare numbers.
 */
export const Errors = {
  // --- Message header (RFC 4271 §6.1) -------------------------------------------------------
  /** §6.1: marker not all ones. Data: empty. */
  connectionNotSynchronized: () => new BgpError(ErrorCode.MessageHeader, HeaderSubcode.ConnectionNotSynchronized),
  /** §6.1: "the Data field MUST contain the erroneous Length field". */
  badMessageLength: (length: number, detail?: string) =>
    new BgpError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, u16(length), 'session-reset', detail ?? `length ${length}`),
  /** §6.1: "the Data field MUST contain the erroneous Type field". */
  badMessageType: (type: number) =>
    new BgpError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageType, Uint8Array.of(type & 0xff), 'session-reset', `type ${type}`),

  // --- OPEN (RFC 4271 §6.2) ------------------------------------------------------------------
  /** §6.2: "the Data field is a 2-octet unsigned integer, which indicates the largest, locally-supported version number". */
  unsupportedVersion: (received: number) =>
    new BgpError(ErrorCode.OpenMessage, OpenSubcode.UnsupportedVersionNumber, u16(4), 'session-reset', `version ${received}`),
  /** §6.2: Data empty. */
  badPeerAs: (detail?: string) => new BgpError(ErrorCode.OpenMessage, OpenSubcode.BadPeerAs, EMPTY, 'session-reset', detail),
  /** §6.2: Data empty. */
  badBgpIdentifier: (detail?: string) =>
    new BgpError(ErrorCode.OpenMessage, OpenSubcode.BadBgpIdentifier, EMPTY, 'session-reset', detail),
  /** §6.2: Data empty. */
  unsupportedOptionalParameter: (type: number) =>
    new BgpError(ErrorCode.OpenMessage, OpenSubcode.UnsupportedOptionalParameter, EMPTY, 'session-reset', `parameter type ${type}`),
  /** §6.2: Data empty. */
  unacceptableHoldTime: (holdTime: number) =>
    new BgpError(ErrorCode.OpenMessage, OpenSubcode.UnacceptableHoldTime, EMPTY, 'session-reset', `hold time ${holdTime}`),
  /** RFC 5492 §5: Data lists the unsupported (or missing required) capabilities, each as code/length/value. */
  unsupportedCapability: (capabilities: Uint8Array, detail?: string) =>
    new BgpError(ErrorCode.OpenMessage, OpenSubcode.UnsupportedCapability, capabilities, 'session-reset', detail),
  /** §6.2 leaves malformed OPEN bodies to subcode 0 (Unspecific) per RFC 4271 §6.2 "If the OPEN message ... cannot be parsed". */
  malformedOpen: (detail: string) => new BgpError(ErrorCode.OpenMessage, OpenSubcode.Unspecific, EMPTY, 'session-reset', detail),

  // --- UPDATE (RFC 4271 §6.3, revised by RFC 7606) -----------------------------------------
  /** §6.3 + RFC 7606 §3 (d): attribute-list level inconsistency. Data empty. */
  malformedAttributeList: (detail: string, disposition: Disposition = 'session-reset') =>
    new BgpError(ErrorCode.UpdateMessage, UpdateSubcode.MalformedAttributeList, EMPTY, disposition, detail),
  /** §6.3: "the Data field contains the unrecognized attribute (type, length, and value)". */
  unrecognizedWellKnown: (attr: Uint8Array, type: number) =>
    new BgpError(ErrorCode.UpdateMessage, UpdateSubcode.UnrecognizedWellKnownAttribute, attr, 'session-reset', `type ${type}`, type),
  /** §6.3: "the Data field contains the Attribute Type Code of the missing, well-known attribute". RFC 7606 §3 (d): treat-as-withdraw. */
  missingWellKnown: (type: number) =>
    new BgpError(ErrorCode.UpdateMessage, UpdateSubcode.MissingWellKnownAttribute, Uint8Array.of(type), 'treat-as-withdraw', `type ${type}`, type),
  /** §6.3: Data is the erroneous attribute (type, length, value). Disposition per RFC 7606 §3 (c)/§7. */
  attributeFlags: (attr: Uint8Array, type: number, disposition: Disposition) =>
    new BgpError(ErrorCode.UpdateMessage, UpdateSubcode.AttributeFlagsError, attr, disposition, `type ${type}`, type),
  /** §6.3: Data is the erroneous attribute. Disposition per RFC 7606 §7 for each attribute. */
  attributeLength: (attr: Uint8Array, type: number, disposition: Disposition) =>
    new BgpError(ErrorCode.UpdateMessage, UpdateSubcode.AttributeLengthError, attr, disposition, `type ${type}`, type),
  /** §6.3: Data is the unrecognized ORIGIN attribute. RFC 7606 §7.1: treat-as-withdraw. */
  invalidOrigin: (attr: Uint8Array) =>
    new BgpError(ErrorCode.UpdateMessage, UpdateSubcode.InvalidOriginAttribute, attr, 'treat-as-withdraw', undefined, 1),
  /** §6.3: Data is the incorrect NEXT_HOP attribute. RFC 7606 §7.3: treat-as-withdraw. */
  invalidNextHop: (attr: Uint8Array, detail?: string) =>
    new BgpError(ErrorCode.UpdateMessage, UpdateSubcode.InvalidNextHopAttribute, attr, 'treat-as-withdraw', detail, 3),
  /** §6.3: Data is the erroneous optional attribute. */
  optionalAttribute: (attr: Uint8Array, type: number, disposition: Disposition, detail?: string) =>
    new BgpError(ErrorCode.UpdateMessage, UpdateSubcode.OptionalAttributeError, attr, disposition, detail ?? `type ${type}`, type),
  /** §6.3: syntactically incorrect NLRI. Data empty. RFC 7606 §5.3: session reset (or AFI/SAFI disable for MP). */
  invalidNetworkField: (detail: string, disposition: Disposition = 'session-reset') =>
    new BgpError(ErrorCode.UpdateMessage, UpdateSubcode.InvalidNetworkField, EMPTY, disposition, detail),
  /** §6.3: Data empty. RFC 7606 §7.2: treat-as-withdraw. */
  malformedAsPath: (detail: string, type: number = 2) =>
    new BgpError(ErrorCode.UpdateMessage, UpdateSubcode.MalformedAsPath, EMPTY, 'treat-as-withdraw', detail, type),

  // --- ROUTE-REFRESH (RFC 7313 §5) ------------------------------------------------------------
  /** RFC 7313 §5: "the Data field MUST contain the complete ROUTE-REFRESH message". */
  routeRefreshLength: (message: Uint8Array) =>
    new BgpError(ErrorCode.RouteRefreshMessage, RouteRefreshSubcode.InvalidMessageLength, message, 'session-reset'),

  // --- FSM, hold timer, cease (RFC 4271 §6.5, §6.6, RFC 6608, RFC 4486) -----------------------
  holdTimerExpired: () => new BgpError(ErrorCode.HoldTimerExpired, 0),
  fsm: (subcode: number) => new BgpError(ErrorCode.FiniteStateMachine, subcode),
  cease: (subcode: number, data: Uint8Array = EMPTY) => new BgpError(ErrorCode.Cease, subcode, data),

  // --- a NOTIFICATION received from the peer (RFC 4271 §6.4: never answered) -----------------
  /** The peer's (code, subcode, data) as received, any values, Data kept verbatim. */
  received: (code: number, subcode: number, data: Uint8Array) =>
    new BgpError(code, subcode, data, 'session-reset', 'received NOTIFICATION'),
} as const;
