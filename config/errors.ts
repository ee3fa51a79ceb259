// Config problems are values, not exceptions: the loader collects every one of them (OpenBGPD's
// parse.y keeps going after an error) so `bgpd --check` can print them all in one run.

export const CONFIG_ERROR_CODE = 'ERR_BGP_CONFIG_INVALID' as const;

export interface ConfigError {
  readonly severity: 'error' | 'warning';
  readonly file: string;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly col: number;
  /** dotted path of the offending key, `peers[1].address`; '' for the document itself */
  readonly path: string;
  readonly message: string;
}

/** `FILE:LINE:COL: message` (warnings say so: `FILE:LINE:COL: warning: message`), as compilers print. */
export function formatConfigError(e: ConfigError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.severity === 'warning' ? 'warning: ' : ''}${e.message}`;
}
