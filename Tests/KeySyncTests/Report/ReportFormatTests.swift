import Foundation
import Testing
@testable import KeySync

/// Every format's exact output for ``ReportFixture``.
@Suite struct ReportFormatTests {
    let report: DriftReport

    init() throws {
        report = try ReportFixture.report(ReportFixture.store())
    }

    @Test func summary() {
        #expect(report.hosts.map(\.host) == ["db-1", "web-1", "web-2"])
        #expect(report.failedHosts.map(\.host) == ["web-2"])
        #expect(report.countsByKind.map { "\($0.kind)=\($0.count)" } == ["account_locked=1", "file_mode=1", "host_unreachable=1", "revoked_key=1"])
        #expect(report.lastRun?.id == 3)
        #expect(report.history.map(\.runID) == [1, 2, 3])
    }

    @Test func table() {
        #expect(ReportFormat.table.render(report) == """
        HOST   ACCOUNT     KIND              SINCE                 DETAIL
        db-1   billing     account_locked    2023-11-14T23:13:20Z  password locked (!) in /etc/shadow
        db-1   root        revoked_key       2023-11-15T22:13:20Z  bob@old-laptop is revoked
        web-1  usersample  file_mode         2023-11-15T22:13:20Z  /home/usersample/.ssh/authorized_keys mode 0666, want 0600
        web-2  -           host_unreachable  2023-11-15T22:13:20Z  connect to 10.0.0.12:22 timed out after 10 s

        4 open drift items on 3 of 3 hosts, 1 host failed; last run 3 (check) finished 2023-11-15T22:14:20Z in 60.0 s

        """)
    }

    @Test func tableColoursOnlyWhenAsked() {
        let coloured = ReportFormat.table.render(report, colour: true)
        #expect(lines(coloured)[0] == "\u{1B}[1mHOST\u{1B}[0m   \u{1B}[1mACCOUNT\u{1B}[0m     \u{1B}[1mKIND\u{1B}[0m              "
            + "\u{1B}[1mSINCE\u{1B}[0m                 \u{1B}[1mDETAIL\u{1B}[0m")
        #expect(lines(coloured)[1] == "\u{1B}[1mdb-1\u{1B}[0m   billing     \u{1B}[33maccount_locked\u{1B}[0m    "
            + "2023-11-14T23:13:20Z  password locked (!) in /etc/shadow")
        #expect(lines(coloured)[4].contains("\u{1B}[31mhost_unreachable\u{1B}[0m  2023"))
        #expect(coloured.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
            == ReportFormat.table.render(report))
        #expect(!ReportFormat.table.render(report).contains("\u{1B}"))
    }

    @Test func json() {
        #expect(ReportFormat.json.render(report) == """
        {
          "generated_at" : "2023-11-15T23:13:20Z",
          "history" : [
            {
              "by_kind" : {
                "file_mode" : 1,
                "missing_key" : 1
              },
              "command" : "check",
              "found" : 2,
              "hosts_failed" : 0,
              "hosts_scanned" : 3,
              "hosts_with_drift" : 1,
              "remaining" : 2,
              "run" : 1,
              "started_at" : "2023-11-14T22:13:20Z"
            },
            {
              "by_kind" : {
                "account_locked" : 1
              },
              "command" : "push",
              "found" : 3,
              "hosts_failed" : 0,
              "hosts_scanned" : 3,
              "hosts_with_drift" : 1,
              "remaining" : 1,
              "run" : 2,
              "started_at" : "2023-11-14T23:13:20Z"
            },
            {
              "by_kind" : {
                "account_locked" : 1,
                "file_mode" : 1,
                "host_unreachable" : 1,
                "revoked_key" : 1
              },
              "command" : "check",
              "found" : 4,
              "hosts_failed" : 1,
              "hosts_scanned" : 2,
              "hosts_with_drift" : 3,
              "remaining" : 4,
              "run" : 3,
              "started_at" : "2023-11-15T22:13:20Z"
            }
          ],
          "hosts" : [
            {
              "checked_at" : "2023-11-15T22:13:21Z",
              "drift" : [
                {
                  "account" : "billing",
                  "detail" : "password locked (!) in /etc/shadow",
                  "kind" : "account_locked",
                  "last_seen_at" : "2023-11-15T22:13:20Z",
                  "last_seen_run" : 3,
                  "since" : "2023-11-14T23:13:20Z",
                  "since_run" : 2
                },
                {
                  "account" : "root",
                  "detail" : "bob@old-laptop is revoked",
                  "fingerprint" : "SHA256:c90/8g40PjjHo56cJFRy66U9iLA2iqDMv/L93+KqJho",
                  "kind" : "revoked_key",
                  "last_seen_at" : "2023-11-15T22:13:20Z",
                  "last_seen_run" : 3,
                  "since" : "2023-11-15T22:13:20Z",
                  "since_run" : 3
                }
              ],
              "host" : "db-1",
              "run" : 3,
              "status" : "drift"
            },
            {
              "checked_at" : "2023-11-15T22:13:21Z",
              "drift" : [
                {
                  "account" : "usersample",
                  "detail" : "/home/usersample/.ssh/authorized_keys mode 0666, want 0600",
                  "kind" : "file_mode",
                  "last_seen_at" : "2023-11-15T22:13:20Z",
                  "last_seen_run" : 3,
                  "since" : "2023-11-15T22:13:20Z",
                  "since_run" : 3
                }
              ],
              "host" : "web-1",
              "run" : 3,
              "status" : "drift"
            },
            {
              "checked_at" : "2023-11-15T22:13:21Z",
              "drift" : [
                {
                  "account" : "",
                  "detail" : "connect to 10.0.0.12:22 timed out after 10 s",
                  "kind" : "host_unreachable",
                  "last_seen_at" : "2023-11-15T22:13:20Z",
                  "last_seen_run" : 3,
                  "since" : "2023-11-15T22:13:20Z",
                  "since_run" : 3
                }
              ],
              "error" : "connect to 10.0.0.12:22 timed out after 10 s",
              "error_kind" : "host_unreachable",
              "host" : "web-2",
              "run" : 3,
              "status" : "failed"
            }
          ],
          "last_run" : {
            "command" : "check",
            "finished_at" : "2023-11-15T22:14:20Z",
            "run" : 3,
            "seconds" : 60,
            "started_at" : "2023-11-15T22:13:20Z",
            "status" : "completed"
          },
          "since" : "2023-11-14T22:13:20Z",
          "summary" : {
            "by_kind" : {
              "account_locked" : 1,
              "file_mode" : 1,
              "host_unreachable" : 1,
              "revoked_key" : 1
            },
            "hosts" : 3,
            "hosts_failed" : 1,
            "hosts_with_drift" : 3,
            "open_drift" : 4
          }
        }

        """)
    }

    @Test func markdown() {
        #expect(ReportFormat.markdown.render(report) == #"""
        # keysync drift report

        Generated 2023-11-15T23:13:20Z, history since 2023-11-14T22:13:20Z.

        4 open drift items on 3 of 3 hosts, 1 host failed; last run 3 (check) finished 2023-11-15T22:14:20Z in 60.0 s.

        ## Open drift

        | Host | Account | Kind | Since | Detail |
        | --- | --- | --- | --- | --- |
        | db-1 | billing | account\_locked | 2023-11-14T23:13:20Z | password locked (!) in /etc/shadow |
        | db-1 | root | revoked\_key | 2023-11-15T22:13:20Z | bob@old-laptop is revoked |
        | web-1 | usersample | file\_mode | 2023-11-15T22:13:20Z | /home/usersample/.ssh/authorized\_keys mode 0666, want 0600 |
        | web-2 | - | host\_unreachable | 2023-11-15T22:13:20Z | connect to 10.0.0.12:22 timed out after 10 s |

        ## Failed hosts

        | Host | Run | Error |
        | --- | --- | --- |
        | web-2 | 3 | connect to 10.0.0.12:22 timed out after 10 s |

        """#)
    }

    @Test func csv() {
        #expect(ReportFormat.csv.render(report) == [
            "host,account,kind,since,since_run,last_seen_run,last_seen_at,detail,fingerprint",
            "db-1,billing,account_locked,2023-11-14T23:13:20Z,2,3,2023-11-15T22:13:20Z,password locked (!) in /etc/shadow,",
            "db-1,root,revoked_key,2023-11-15T22:13:20Z,3,3,2023-11-15T22:13:20Z,bob@old-laptop is revoked,\(ReportFixture.bob)",
            "web-1,usersample,file_mode,2023-11-15T22:13:20Z,3,3,2023-11-15T22:13:20Z,\"/home/usersample/.ssh/authorized_keys mode 0666, want 0600\",",
            "web-2,,host_unreachable,2023-11-15T22:13:20Z,3,3,2023-11-15T22:13:20Z,connect to 10.0.0.12:22 timed out after 10 s,",
        ].map { $0 + "\r\n" }.joined())
    }

    @Test func html() {
        #expect(ReportFormat.html.render(report) == """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>keysync drift report</title>
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
        table{border-collapse:collapse;margin-bottom:1.5em}
        th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top;white-space:nowrap}
        td:last-child{white-space:normal}
        th{background:#f3f3f3}
        .cards{display:flex;gap:1em;flex-wrap:wrap}
        .card{border:1px solid #ccc;border-radius:6px;padding:.5em 1em;min-width:8em}
        .card b{display:block;font-size:1.8em}
        .failed,.bad{color:#b00020}
        .drift{color:#a05a00}
        .ok,.changed{color:#1b7a1b}
        code{font-size:.9em}
        </style>
        </head>
        <body>
        <h1>keysync drift report</h1>
        <p>Generated 2023-11-15T23:13:20Z, history since 2023-11-14T22:13:20Z. 4 open drift items on 3 of 3 hosts, 1 host failed; last run 3 (check) finished 2023-11-15T22:14:20Z in 60.0 s.</p>
        <div class="cards">
        <div class="card"><b>3</b>hosts</div>
        <div class="card"><b class="bad">3</b>hosts with drift</div>
        <div class="card"><b class="bad">4</b>open drift items</div>
        <div class="card"><b class="bad">1</b>hosts failed</div>
        </div>
        <h2>Drift over time</h2>
        <svg xmlns="http://www.w3.org/2000/svg" width="720" height="240" viewBox="0 0 720 240" role="img" aria-label="Open drift items per run">
        <title>Open drift items and hosts with drift per run</title>
        <line x1="44.0" y1="204.0" x2="708.0" y2="204.0" stroke="#ddd"/><text x="38.0" y="204.0" font-size="11" text-anchor="end" dominant-baseline="middle">0</text>
        <line x1="44.0" y1="108.0" x2="708.0" y2="108.0" stroke="#ddd"/><text x="38.0" y="108.0" font-size="11" text-anchor="end" dominant-baseline="middle">2</text>
        <line x1="44.0" y1="12.0" x2="708.0" y2="12.0" stroke="#ddd"/><text x="38.0" y="12.0" font-size="11" text-anchor="end" dominant-baseline="middle">4</text>
        <text x="44.0" y="220.0" font-size="11">2023-11-14T22:13:20Z</text>
        <text x="708.0" y="220.0" font-size="11" text-anchor="end">2023-11-15T22:13:20Z</text>
        <line x1="44.0" y1="204.0" x2="708.0" y2="204.0" stroke="#888"/>
        <polyline fill="none" stroke="#b00020" stroke-width="2" points="44.0,108.0 71.7,156.0 708.0,12.0"/>
        <circle cx="44.0" cy="108.0" r="3" fill="#b00020"><title>run 1 (check) 2023-11-14T22:13:20Z: 2 open items on 1 host (3 scanned)</title></circle>
        <circle cx="71.7" cy="156.0" r="3" fill="#b00020"><title>run 2 (push) 2023-11-14T23:13:20Z: 1 open item on 1 host (3 scanned)</title></circle>
        <circle cx="708.0" cy="12.0" r="3" fill="#b00020"><title>run 3 (check) 2023-11-15T22:13:20Z: 4 open items on 3 hosts (2 scanned)</title></circle>
        <polyline fill="none" stroke="#1f5fa8" stroke-width="2" stroke-dasharray="5 3" points="44.0,156.0 71.7,156.0 708.0,60.0"/>
        <circle cx="44.0" cy="156.0" r="3" fill="#1f5fa8"><title>run 1 (check) 2023-11-14T22:13:20Z: 2 open items on 1 host (3 scanned)</title></circle>
        <circle cx="71.7" cy="156.0" r="3" fill="#1f5fa8"><title>run 2 (push) 2023-11-14T23:13:20Z: 1 open item on 1 host (3 scanned)</title></circle>
        <circle cx="708.0" cy="60.0" r="3" fill="#1f5fa8"><title>run 3 (check) 2023-11-15T22:13:20Z: 4 open items on 3 hosts (2 scanned)</title></circle>
        <text x="52.0" y="236.0" font-size="11" fill="#b00020">— open drift items</text><text x="204.0" y="236.0" font-size="11" fill="#1f5fa8">- - hosts with drift</text>
        </svg>
        <h2>Hosts</h2>
        <table>
        <tr><th>Host</th><th>Status</th><th>Last result</th><th>Open drift</th><th>Kinds</th><th>Error</th></tr>
        <tr><td>db-1</td><td><span class="drift">drift</span></td><td>run 3, 2023-11-15T22:13:21Z</td><td>2</td><td><code>account_locked</code> <code>revoked_key</code></td><td></td></tr>
        <tr><td>web-1</td><td><span class="drift">drift</span></td><td>run 3, 2023-11-15T22:13:21Z</td><td>1</td><td><code>file_mode</code></td><td></td></tr>
        <tr><td>web-2</td><td><span class="failed">failed</span></td><td>run 3, 2023-11-15T22:13:21Z</td><td>1</td><td><code>host_unreachable</code></td><td>connect to 10.0.0.12:22 timed out after 10 s</td></tr>
        </table>
        <h2>Open drift</h2>
        <table>
        <tr><th>Host</th><th>Account</th><th>Kind</th><th>Since</th><th>Fingerprint</th><th>Detail</th></tr>
        <tr><td>db-1</td><td>billing</td><td><code>account_locked</code></td><td>2023-11-14T23:13:20Z (run 2)</td><td></td><td>password locked (!) in /etc/shadow</td></tr>
        <tr><td>db-1</td><td>root</td><td><code>revoked_key</code></td><td>2023-11-15T22:13:20Z (run 3)</td><td><code>SHA256:c90/8g40PjjHo56cJFRy66U9iLA2iqDMv/L93+KqJho</code></td><td>bob@old-laptop is revoked</td></tr>
        <tr><td>web-1</td><td>usersample</td><td><code>file_mode</code></td><td>2023-11-15T22:13:20Z (run 3)</td><td></td><td>/home/usersample/.ssh/authorized_keys mode 0666, want 0600</td></tr>
        <tr><td>web-2</td><td>-</td><td><code>host_unreachable</code></td><td>2023-11-15T22:13:20Z (run 3)</td><td></td><td>connect to 10.0.0.12:22 timed out after 10 s</td></tr>
        </table>
        </body>
        </html>

        """)
    }

    @Test func prometheus() {
        #expect(ReportFormat.prometheus.render(report) == """
        # HELP keysync_drift_items Open drift items per host and drift kind.
        # TYPE keysync_drift_items gauge
        keysync_drift_items{host="db-1",kind="account_locked"} 1
        keysync_drift_items{host="db-1",kind="revoked_key"} 1
        keysync_drift_items{host="web-1",kind="file_mode"} 1
        keysync_drift_items{host="web-2",kind="host_unreachable"} 1
        # HELP keysync_hosts_failed Hosts whose latest result is a failure.
        # TYPE keysync_hosts_failed gauge
        keysync_hosts_failed 1
        # HELP keysync_last_run_timestamp_seconds End of the latest completed keysync check or push, as a Unix time.
        # TYPE keysync_last_run_timestamp_seconds gauge
        keysync_last_run_timestamp_seconds 1700086460
        # HELP keysync_run_duration_seconds Duration of the latest completed keysync check or push.
        # TYPE keysync_run_duration_seconds gauge
        keysync_run_duration_seconds 60

        """)
    }
}
