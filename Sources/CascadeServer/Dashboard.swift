import CascadeCore
import CascadeEngine
import Foundation
import Hummingbird

/// `GET /dashboard`: one server-rendered page for operators: served models, traffic over the last
/// two minutes, latency percentiles per route, mean time per funnel stage and, with `?user=ID`,
/// that user's page with what each channel contributed. Tables are rendered on the server; the
/// charts are drawn in the browser by a few lines of inline script from data embedded in the
/// page (no external assets), so the page works offline and behind any proxy. Admin scope:
/// browsers can pass the key as `?key=`.
extension CascadeAPI {
    func addDashboardRoute(_ router: Router<BasicRequestContext>) {
        router.get("/dashboard") { request, _ in
            try self.dashboard(request)
        }
    }

    func dashboard(_ request: Request) throws -> Response {
        let user = request.uri.queryParameters.get("user").map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
        if let u = user { try validateExternalId(u, kind: "user") }
        let n = try intQuery("n", request, default: 10, range: 1...config.maxN)
        let r = models.recommender
        var html = """
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>Cascade dashboard</title>
        <style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}svg{border:1px solid #ddd;background:#fafafa}
        h2{margin-top:28px}.num{text-align:right}</style></head><body>
        <h1>Cascade</h1>
        <p id="summary">\(r.users.count) users, \(r.items.count) items, up \(Int(Date().timeIntervalSince(metrics.started))) s</p>
        <h2>Models</h2><table id="models"><tr><th>model</th><th>active version</th></tr>
        """
        for (name, v) in models.versions.sorted(by: { $0.key < $1.key }) {
            html += "<tr><td>\(escape(name))</td><td class=\"num\">\(v)</td></tr>"
        }
        html += "</table>"
        let traffic = metrics.traffic(seconds: 120)
        html += """
        <h2>Traffic</h2><p>requests per second, last 120 s (total \(traffic.reduce(0, +)))</p>
        <svg id="traffic" width="600" height="120"></svg>
        <h2>Latency</h2><table id="latency"><tr><th>route</th><th>requests</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th></tr>
        """
        let routes = Set(metrics.requestCounts().keys.map { String($0.split(separator: "|")[0]) }).sorted()
        for route in routes {
            guard let p = metrics.percentiles(route: route) else { continue }
            html += "<tr><td>\(escape(route))</td><td class=\"num\">\(p.count)</td><td class=\"num\">\(fmt(p.p50))</td>"
                + "<td class=\"num\">\(fmt(p.p90))</td><td class=\"num\">\(fmt(p.p99))</td></tr>"
        }
        html += "</table>"
        let arms = armActivity.summary()
        html += "<h2>Experiment arms</h2>"
        if arms.isEmpty {
            html += "<p id=\"arms-empty\">\(models.experiments == nil ? "no experiments running" : "no impressions from experiment users yet")</p>"
        } else {
            html += "<p>impressions and clicks from feedback, last \(armActivity.minutes) minutes; CTR per minute</p>"
                + "<table id=\"arms\"><tr><th>arm</th><th>impressions</th><th>clicks</th><th>CTR</th><th>CTR by minute</th></tr>"
            for (k, a) in arms.enumerated() {
                html += "<tr><td>\(escape(a.arm))</td><td class=\"num\">\(a.total.impressions)</td><td class=\"num\">\(a.total.clicks)</td>"
                    + "<td class=\"num\">\(fmt(a.total.ctr))</td><td><svg class=\"arm-ctr\" id=\"arm-\(k)\" width=\"240\" height=\"30\"></svg></td></tr>"
            }
            html += "</table>"
        }
        let armJSON = arms.map { "[\($0.ctrByMinute.map { fmt($0) }.joined(separator: ","))]" }.joined(separator: ",")
        let stages = metrics.stageMeans()
        html += "<h2>Funnel stages</h2><p>mean milliseconds per request</p><svg id=\"stages\" width=\"600\" height=\"\(max(40, 22 * stages.count + 10))\"></svg>"
        if let u = user {
            let (arm, assignment) = try models.recommender(for: u)
            let result = try arm.run(user: u, n: n, store: store)
            html += "<h2>Recommendations for \(escape(u))</h2>"
            if let a = assignment { html += "<p id=\"user-arms\">experiment: \(escape(a.compact.isEmpty ? "none" : a.compact))</p>" }
            html += "<p id=\"user-summary\">\(r.users.index(of: u) == nil ? "cold start" : "known user"), \(result.merged) candidates merged</p>"
            html += "<table id=\"recommendations\"><tr><th>#</th><th>item</th><th>score</th><th>channels</th></tr>"
            for (k, rec) in result.recommendations.enumerated() {
                html += "<tr><td class=\"num\">\(k + 1)</td><td>\(escape(r.items.ids[Int(rec.item)]))</td>"
                    + "<td class=\"num\">\(fmt(Double(rec.score)))</td><td>\(escape(rec.channels.joined(separator: ", ")))</td></tr>"
            }
            html += "</table><table id=\"trace\"><tr><th>stage</th><th>candidates</th><th>ms</th></tr>"
            for c in result.channels {
                html += "<tr><td>recall/\(escape(c.channel))</td><td class=\"num\">\(c.candidates)</td><td class=\"num\">\(fmt(c.microseconds / 1000))</td></tr>"
            }
            for st in result.stages {
                html += "<tr><td>\(escape(st.stage))</td><td class=\"num\">\(st.candidatesOut)</td><td class=\"num\">\(fmt(st.microseconds / 1000))</td></tr>"
            }
            html += "</table>"
        } else {
            html += "<h2>Recommendations</h2><form method=\"get\"><input name=\"user\" placeholder=\"user id\">"
                + "<input type=\"hidden\" name=\"key\" value=\"\(escape(request.uri.queryParameters.get("key").map { String($0) } ?? ""))\">"
                + "<button>show</button></form>"
        }
        let stageJSON = stages.map { "[\"\(jsEscape($0.0))\",\(fmt($0.1))]" }.joined(separator: ",")
        html += """
        <script>
        const traffic = [\(traffic.map(String.init).joined(separator: ","))];
        const stages = [\(stageJSON)];
        const arms = [\(armJSON)];
        const ns = "http://www.w3.org/2000/svg";
        function el(name, attrs, text) { const e = document.createElementNS(ns, name);
          for (const k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; }
        (function () {
          const svg = document.getElementById("traffic"), w = 600, h = 120, top = Math.max(1, ...traffic);
          const pts = traffic.map((v, i) => `${(i * (w - 10) / Math.max(1, traffic.length - 1) + 5).toFixed(1)},${(h - 5 - v * (h - 20) / top).toFixed(1)}`);
          svg.appendChild(el("polyline", {points: pts.join(" "), fill: "none", stroke: "#3366cc", "stroke-width": 2}));
          svg.appendChild(el("text", {x: 8, y: 14, "font-size": 11}, `max ${top}/s`));
          const bars = document.getElementById("stages"), most = Math.max(0.001, ...stages.map(s => s[1]));
          stages.forEach((s, i) => {
            bars.appendChild(el("rect", {x: 160, y: 6 + i * 22, width: Math.max(1, s[1] / most * 380), height: 16, fill: "#66aa55"}));
            bars.appendChild(el("text", {x: 4, y: 18 + i * 22, "font-size": 12}, s[0]));
            bars.appendChild(el("text", {x: 548, y: 18 + i * 22, "font-size": 11}, s[1].toFixed(2)));
          });
          arms.forEach((series, k) => {
            const svg = document.getElementById("arm-" + k), top = Math.max(0.001, ...series);
            const pts = series.map((v, i) => `${(i * 236 / Math.max(1, series.length - 1) + 2).toFixed(1)},${(28 - v * 26 / top).toFixed(1)}`);
            svg.appendChild(el("polyline", {points: pts.join(" "), fill: "none", stroke: "#cc6633", "stroke-width": 1.5}));
          });
          document.body.setAttribute("data-charts", "drawn");
        })();
        </script></body></html>
        """
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    private func fmt(_ x: Double) -> String { String(format: "%.3f", x) }

    func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A string safe inside a double-quoted JavaScript literal within a script element.
    func jsEscape(_ s: String) -> String {
        s.unicodeScalars.map { u -> String in
            switch u {
            case "\"", "\\", "<", ">", "&", "'": return String(format: "\\u%04x", u.value)
            default: return u.value < 0x20 ? String(format: "\\u%04x", u.value) : String(u)
            }
        }.joined()
    }
}
