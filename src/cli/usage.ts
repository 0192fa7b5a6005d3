/**
 * Usage text of every command, kept apart from the commands so `--help` and
 * usage errors print without loading the client or the server.
 */

export const MAIN_USAGE = `Usage: sockwave <command> [options]

Commands:
  connect URL     interactive WebSocket client (stdin lines out, messages in)
  listen          WebSocket server: --echo, --broadcast, or print messages
  autobahn URL    run the Autobahn|Testsuite client protocol against URL

Run 'sockwave <command> --help' for the options of a command.
Options: -h, --help   show this help;  -v, --version   print the version`;

export const CONNECT_USAGE = `Usage: sockwave connect URL [options]

Open a WebSocket to URL (ws://, wss://, http:// or https://), send each line of
stdin as a message and print each incoming message on stdout. Status and
errors go to stderr.

Options:
  -H, --header 'Name: value'  add a request header (repeatable)
  -s, --subprotocol NAME      offer a subprotocol (repeatable, in order)
      --origin ORIGIN         send this Origin header
      --no-check              accept any TLS certificate (self-signed servers)
  -P, --ping                  enable commands /ping [data], /pong [data],
                              /close [code [reason]]; show pings and pongs
  -x, --execute MESSAGE       send MESSAGE once open (repeatable), then wait
                              and close; stdin is not read
  -w, --wait MS               after the last message (-x or end of piped
                              stdin) wait MS for replies, then close
                              (default 2000)
      --no-close              keep the connection after stdin ends (or after
                              -x): print messages until the server closes
  -b, --binary                send lines as binary messages
      --binary-as FORMAT      show binary messages as hex (default), base64
                              or utf8
      --json                  pretty-print text messages that are JSON
      --no-deflate            do not offer permessage-deflate compression
      --http2 MODE            wss:// over HTTP/2 (RFC 8441): auto (default:
                              when the server offers it), require, never
      --proxy URL             reach the server through this proxy:
                              http://, https:// (CONNECT), socks5://,
                              socks5h:// (the proxy resolves names),
                              socks4://, socks4a://; [user:pass@] for auth.
                              Default: WS_PROXY/WSS_PROXY, HTTP_PROXY/
                              HTTPS_PROXY, ALL_PROXY minus NO_PROXY
      --no-proxy              connect directly, ignoring proxy variables
      --max-message BYTES     largest message accepted (default 16777216)
      --timeout MS            opening handshake timeout (default 10000)
      --reconnect             when the connection fails or drops, connect again
                              (exponential backoff with jitter); lines typed
                              meanwhile are queued (up to 1000)
      --reconnect-delay MS    shortest wait before reconnecting (default 1000)
      --reconnect-max-delay MS
                              longest wait before reconnecting (default 30000)
      --max-retries N         give up after N failed attempts in a row
                              (default: never)
  -q, --quiet                 no status lines on stderr
  -h, --help                  show this help

Exit codes: 0 clean close (we closed it, or the peer closed with 1000, 1001
or no code), 1 could not connect, 2 bad arguments, 3 abnormal close (1006)
or the peer closed with an error code.

Examples:
  sockwave connect ws://localhost:8080/ws
  echo '{"hello":1}' | sockwave connect ws://localhost:8080 --json
  sockwave connect wss://self-signed.test -H 'Authorization: Bearer x' --no-check
  sockwave connect ws://localhost:8080 -x ping -w 500`;

export const LISTEN_USAGE = `Usage: sockwave listen [options]

Run a WebSocket server. By default it prints incoming messages on stdout and
sends each line of stdin to every connected client.

Options:
  -p, --port N              port to listen on (default 8080; 0 picks a free one)
      --host HOST           address to bind (default 127.0.0.1; 0.0.0.0 or ::
                            to accept other machines)
      --path PATH           only accept WebSocket upgrades on PATH (default: any)
      --echo                echo every message back unchanged (text and binary)
      --broadcast           send every message to all connected clients
      --redis URL           with --broadcast: one room per request path shared
                            by every server given the same Redis (each message
                            reaches every other client on that path); needs
                            npm install @redis/client
  -s, --subprotocol NAME    accept only these subprotocols (repeatable); by
                            default the client's first offer is selected
      --static DIR          serve the files in DIR over HTTP on the same port
      --tls-cert FILE       PEM certificate: serve https:// and wss://, over
                            HTTP/2 and HTTP/1.1 on the same port (ALPN)
      --tls-key FILE        PEM private key for --tls-cert
      --no-http2            with --tls-cert: HTTP/1.1 only
      --deflate             enable permessage-deflate compression
      --max-message BYTES   largest message accepted (default 16777216)
      --handshake-timeout MS  drop a client whose request head and upgrade
                            are not complete after MS (default 10000)
      --binary-as FORMAT    print binary messages as hex (default), base64, utf8
      --json                pretty-print text messages that are JSON
  -q, --quiet               no connection log on stderr
  -h, --help                show this help

The server stops on Ctrl+C (SIGINT) or SIGTERM, closing clients with 1001.
Exit codes: 0 stopped by a signal, 1 could not listen, 2 bad arguments.

Examples:
  sockwave listen --port 8080 --echo
  sockwave listen --broadcast --static ./public
  sockwave listen --port 8081 --broadcast --redis redis://127.0.0.1:6379
  sockwave listen --port 8443 --tls-cert cert.pem --tls-key key.pem --echo`;

export const AUTOBAHN_USAGE = `Usage: sockwave autobahn URL --agent NAME [options]

Run the Autobahn|Testsuite client protocol against a fuzzing server at URL
(e.g. ws://127.0.0.1:9001): fetch the case count, run every case echoing each
message back unchanged, then ask the server to update its reports.

Options:
  -a, --agent NAME          agent name shown in the reports (required)
      --cases LIST          run only these cases, e.g. 1-10,15 (default: all)
      --case-timeout MS     give up on one case after MS (default 60000)
      --no-deflate          do not offer permessage-deflate
  -q, --quiet               no per-case progress on stderr
  -h, --help                show this help

Exit codes: 0 all cases ran and reports were updated, 1 the server could not
be reached or a control request failed, 2 bad arguments.`;
