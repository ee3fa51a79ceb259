/** Command-line parsing for `bgpd`: small, strict, and with a help text for the 3 a.m. reader. */

export const DEFAULT_CONFIG = '/etc/bgpd/bgpd.conf';

export const HELP = `Usage: bgpd [-c FILE]            run the BGP daemon
       bgpd --check -c FILE       validate a config file and exit (0: OK, 1: errors)
       bgpd --version | --help

wren's BGP daemon. It peers with the nodes and route reflectors listed in its YAML config,
announces this node's IPAM blocks, and programs learned routes into the kernel.

Options:
  -c, --config FILE   config file (default ${DEFAULT_CONFIG})
      --check         validate the config: prints "configuration OK" or every error as
                      FILE:LINE:COL: message, and exits 1 on errors. Nothing is started.
      --version       print the version and exit
  -h, --help          this text

Signals: SIGHUP re-reads the config (same as "bgpctl reload"); SIGTERM/SIGINT stop gracefully
(peers get a Cease NOTIFICATION; kernel routes stay when kernel.persist is true).

Status: bgpctl show neighbors | show routes | show kernel | show status (see bgpctl --help).
Logs are JSON lines on stdout (journalctl -u bgpd -o cat).`;

export type BgpdArgs =
  | { readonly mode: 'run'; readonly config: string }
  | { readonly mode: 'check'; readonly config: string }
  | { readonly mode: 'version' }
  | { readonly mode: 'help' }
  | { readonly mode: 'error'; readonly message: string };

export function parseBgpdArgs(argv: readonly string[]): BgpdArgs {
  let config = DEFAULT_CONFIG;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config' || a === '-f') {
      const v = argv[++i];
      if (v === undefined || v === '') return { mode: 'error', message: `${a} needs a file name` };
      config = v;
    } else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else if (a === '--check' || a === '-n') check = true;
    else if (a === '--version' || a === '-V') return { mode: 'version' };
    else if (a === '--help' || a === '-h') return { mode: 'help' };
    else return { mode: 'error', message: `unknown argument '${a}' (see bgpd --help)` };
  }
  return check ? { mode: 'check', config } : { mode: 'run', config };
}
