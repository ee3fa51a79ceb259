// The lab library: real BGP speakers in network namespaces for wren's integration tests.
// See README.md in this directory for a tour.
export { run, runIn, ExecError } from './exec.js';
export type { ExecOptions, ExecResult } from './exec.js';
export { waitFor, WaitTimeoutError, StopWaiting } from './wait.js';
export type { WaitOptions } from './wait.js';
export { listNamespaces, sweepStale, ownerPid, NS_PREFIX } from './names.js';
export { repoRoot, which, bird1Dir, bird1Paths, programsFor, FRR_DIR } from './paths.js';
export type { DaemonKind, Bird1Paths } from './paths.js';
export { LabProcess } from './process.js';
export type { ExitInfo } from './process.js';
export { Lab, Host, Segment } from './lab.js';
export type { LabOptions, CloseOptions, LinkOptions, AttachOptions, Cidr, HostAddress } from './lab.js';
export { Capture, parseBgpFrames } from './capture.js';
export type { CaptureOptions, BgpWireMessage } from './capture.js';
export { Speaker, normaliseState, sameAddress, canonicalIp, PEER_STATES } from './speaker.js';
export type {
  PeerState,
  PeerStatus,
  ReceivedRoute,
  NeighborConfig,
  SpeakerConfig,
  SpeakerKind,
  AddPathMode,
  WaitRouteOptions,
} from './speaker.js';
export { Bird2Speaker, Bird1Speaker, bird2Config, bird1Config, parseBirdRoutes, parseBirdProtocol, birdProtocolName } from './bird.js';
export { GobgpSpeaker, gobgpConfig, parseGobgpPath, GOBGP_API_PORT } from './gobgp.js';
export { FrrSpeaker, frrBgpdConfig, parseFrrPath } from './frr.js';
export { WrenSpeaker } from './wren.js';
export type { WrenOptions, WrenExtra } from './wren.js';
export { labAvailable, requireLab } from './available.js';
export type { Availability, TapLike } from './available.js';
export { labFor } from './tap.js';
export { startSpeaker } from './start.js';
