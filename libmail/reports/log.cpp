#include "log.hpp"

#include <map>
#include <set>

#include "base/owner.hpp"
#include "message/address.hpp"

namespace mail::reports {

namespace {

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS evaluations(
  day INTEGER NOT NULL, domain TEXT NOT NULL, source_ip TEXT NOT NULL, envelope_from TEXT NOT NULL,
  header_from TEXT NOT NULL, disposition TEXT NOT NULL, dkim TEXT NOT NULL, spf TEXT NOT NULL,
  reason TEXT NOT NULL, spf_domain TEXT NOT NULL, spf_scope TEXT NOT NULL, spf_result TEXT NOT NULL,
  dkim_results TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY(day, domain, source_ip, envelope_from, header_from, disposition, dkim, spf, reason,
              spf_domain, spf_scope, spf_result, dkim_results)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS policies(
  day INTEGER NOT NULL, domain TEXT NOT NULL, p TEXT NOT NULL, sp TEXT NOT NULL, np TEXT NOT NULL,
  adkim TEXT NOT NULL, aspf TEXT NOT NULL, testing TEXT NOT NULL, rua TEXT NOT NULL,
  PRIMARY KEY(day, domain)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS received(
  id INTEGER PRIMARY KEY, org_name TEXT NOT NULL, report_id TEXT NOT NULL, domain TEXT NOT NULL,
  begin INTEGER NOT NULL, end INTEGER NOT NULL, received INTEGER NOT NULL,
  UNIQUE(org_name, report_id, domain));
CREATE TABLE IF NOT EXISTS received_rows(
  report INTEGER NOT NULL REFERENCES received(id) ON DELETE CASCADE, source_ip TEXT NOT NULL,
  count INTEGER NOT NULL, disposition TEXT NOT NULL, dkim TEXT NOT NULL, spf TEXT NOT NULL,
  header_from TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS received_rows_report ON received_rows(report);
)";

// DKIM results as one column: "domain/selector=result" separated by spaces.
std::string dkim_column(const std::vector<AuthResult>& v) {
    std::string out;
    for (auto& d : v) out += (out.empty() ? "" : " ") + d.domain + "/" + d.selector + "=" + d.result;
    return out;
}

std::vector<AuthResult> dkim_of_column(const std::string& s) {
    std::vector<AuthResult> out;
    for (size_t start = 0; start < s.size();) {
        size_t sp = s.find(' ', start);
        std::string item = s.substr(start, sp == std::string::npos ? std::string::npos : sp - start);
        start = sp == std::string::npos ? s.size() : sp + 1;
        size_t slash = item.find('/'), eq = item.rfind('=');
        if (slash == std::string::npos || eq == std::string::npos || eq < slash) continue;
        out.push_back({item.substr(0, slash), item.substr(slash + 1, eq - slash - 1), "", item.substr(eq + 1)});
    }
    return out;
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (auto& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
}

} // namespace

Result<Db> open_log(const Config& cfg) { return open_group_db(cfg.dmarc_db_path(), schema); }

Status record(Db& db, const verify::Checks& c, const std::string& ip, int64_t now) {
    const auto& v = c.dmarc;
    if (!v.record || v.record->rua.empty() || (v.result != "pass" && v.result != "fail")) return {};
    int64_t day = now - now % 86400;
    std::vector<AuthResult> dkim;
    for (auto& d : c.dkim) dkim.push_back({d.domain, d.selector, "", d.result});
    std::string spf_result = spf_name(c.spf.result);
    std::string reason = c.allowed ? "local_policy" : "";
    std::string envelope_from = c.spf.helo ? "" : ascii_lower(c.spf.domain);
    Transaction tx(db);
    MAIL_TRY(tx.begin_unsynced());
    auto up = db.cached(
        "INSERT INTO evaluations VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,1) ON CONFLICT DO UPDATE SET count = count + 1");
    if (!up) return up.error();
    (*up)->bind(1, day).bind(2, v.policy_domain).bind(3, ip).bind(4, envelope_from).bind(5, v.from_domain)
        .bind(6, c.disposition).bind(7, v.dkim_aligned ? "pass" : "fail").bind(8, v.spf_aligned ? "pass" : "fail")
        .bind(9, reason).bind(10, ascii_lower(c.spf.domain)).bind(11, c.spf.helo ? "helo" : "mfrom")
        .bind(12, spf_result).bind(13, dkim_column(dkim));
    MAIL_TRY((*up)->run());
    const auto& r = *v.record;
    auto pol = db.cached("INSERT OR REPLACE INTO policies VALUES(?,?,?,?,?,?,?,?,?)");
    if (!pol) return pol.error();
    (*pol)->bind(1, day).bind(2, v.policy_domain).bind(3, r.p).bind(4, r.sp).bind(5, r.np)
        .bind(6, r.adkim_strict ? "s" : "r").bind(7, r.aspf_strict ? "s" : "r").bind(8, r.testing ? "y" : "n")
        .bind(9, joined(r.rua));
    MAIL_TRY((*pol)->run());
    return tx.commit();
}

Result<std::vector<Pending>> pending(Db& db, int64_t before) {
    std::vector<Pending> out;
    auto pol = db.prepare("SELECT day, domain, p, sp, np, adkim, aspf, testing, rua FROM policies WHERE day < ?"
                          " ORDER BY day, domain");
    if (!pol) return pol.error();
    pol->bind(1, before);
    for (;;) {
        auto row = pol->step();
        if (!row) return row.error();
        if (!*row) break;
        Pending p;
        p.day = pol->int64(0);
        Feedback& f = p.feedback;
        f.domain = pol->text(1), f.p = pol->text(2), f.sp = pol->text(3), f.np = pol->text(4);
        f.adkim = pol->text(5), f.aspf = pol->text(6), f.testing = pol->text(7);
        f.begin = p.day, f.end = p.day + 86399;
        std::string rua = pol->text(8);
        for (size_t s = 0; s < rua.size();) {
            size_t sp = rua.find(' ', s);
            p.rua.push_back(rua.substr(s, sp == std::string::npos ? std::string::npos : sp - s));
            s = sp == std::string::npos ? rua.size() : sp + 1;
        }
        auto ev = db.prepare("SELECT source_ip, envelope_from, header_from, disposition, dkim, spf, reason,"
                             " spf_domain, spf_scope, spf_result, dkim_results, count FROM evaluations"
                             " WHERE day = ? AND domain = ? ORDER BY source_ip, header_from");
        if (!ev) return ev.error();
        ev->bind(1, p.day).bind(2, f.domain);
        for (;;) {
            auto r = ev->step();
            if (!r) return r.error();
            if (!*r) break;
            Row x;
            x.source_ip = ev->text(0), x.envelope_from = ev->text(1), x.header_from = ev->text(2);
            x.disposition = ev->text(3), x.dkim = ev->text(4), x.spf = ev->text(5), x.reason = ev->text(6);
            x.spf_result = {ev->text(7), "", ev->text(8), ev->text(9)};
            x.dkim_results = dkim_of_column(ev->text(10));
            x.count = ev->int64(11);
            f.rows.push_back(std::move(x));
        }
        out.push_back(std::move(p));
    }
    return out;
}

Status forget(Db& db, int64_t day, const std::string& domain) {
    Transaction tx(db);
    MAIL_TRY(tx.begin());
    for (const char* sql : {"DELETE FROM evaluations WHERE day = ? AND domain = ?",
                            "DELETE FROM policies WHERE day = ? AND domain = ?"}) {
        auto st = db.prepare(sql);
        if (!st) return st.error();
        st->bind(1, day).bind(2, domain);
        MAIL_TRY(st->run());
    }
    return tx.commit();
}

Result<bool> add_received(Db& db, const Feedback& f, int64_t now) {
    Transaction tx(db);
    MAIL_TRY(tx.begin());
    auto st = db.prepare("INSERT OR IGNORE INTO received(org_name, report_id, domain, begin, end, received)"
                         " VALUES(?,?,?,?,?,?)");
    if (!st) return st.error();
    st->bind(1, f.org_name).bind(2, f.report_id).bind(3, f.domain).bind(4, f.begin).bind(5, f.end).bind(6, now);
    MAIL_TRY(st->run());
    if (db.changes() == 0) return false;
    int64_t id = db.last_insert_id();
    auto row = db.prepare("INSERT INTO received_rows VALUES(?,?,?,?,?,?,?)");
    if (!row) return row.error();
    for (auto& r : f.rows) {
        row->reset();
        row->bind(1, id).bind(2, r.source_ip).bind(3, r.count).bind(4, r.disposition).bind(5, r.dkim)
            .bind(6, r.spf).bind(7, r.header_from.empty() ? f.domain : r.header_from);
        MAIL_TRY(row->run());
    }
    MAIL_TRY(tx.commit());
    return true;
}

Result<std::vector<Source>> summary(Db& db, const std::string& domain) {
    auto st = db.prepare(
        "SELECT r.domain, x.source_ip, x.header_from, r.org_name, sum(x.count),"
        " sum(CASE WHEN x.dkim = 'pass' OR x.spf = 'pass' THEN x.count ELSE 0 END),"
        " sum(CASE WHEN x.spf = 'pass' THEN x.count ELSE 0 END), sum(CASE WHEN x.dkim = 'pass' THEN x.count ELSE 0 END),"
        " sum(CASE WHEN x.disposition = 'quarantine' THEN x.count ELSE 0 END),"
        " sum(CASE WHEN x.disposition = 'reject' THEN x.count ELSE 0 END), min(r.begin), max(r.end)"
        " FROM received r JOIN received_rows x ON x.report = r.id WHERE ?1 = '' OR r.domain = ?1"
        " GROUP BY r.domain, x.source_ip, x.header_from, r.org_name ORDER BY r.domain, x.source_ip, x.header_from");
    if (!st) return st.error();
    st->bind(1, ascii_lower(domain));
    std::vector<Source> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        std::string d = st->text(0), ip = st->text(1), from = st->text(2);
        if (out.empty() || out.back().domain != d || out.back().source_ip != ip || out.back().header_from != from)
            out.push_back(Source{d, ip, from, {}, 0, 0, 0, 0, 0, 0, st->int64(10), st->int64(11)});
        Source& s = out.back();
        s.reporters.push_back(st->text(3));
        s.messages += st->int64(4), s.dmarc_pass += st->int64(5), s.spf_pass += st->int64(6);
        s.dkim_pass += st->int64(7), s.quarantined += st->int64(8), s.rejected += st->int64(9);
        s.first = std::min(s.first, st->int64(10)), s.last = std::max(s.last, st->int64(11));
    }
    return out;
}

} // namespace mail::reports
