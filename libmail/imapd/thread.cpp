#include "imapd/thread.hpp"

#include <algorithm>
#include <map>

namespace mail::imap {

namespace {

constexpr size_t max_ids = 1000;
// Deeper threads are flattened at this depth, so that every walk below
// stays within a small stack whatever the References say.
constexpr int max_depth = 64;

// A container of the REFERENCES algorithm: a message, or a dummy for a
// message that is only referred to.
struct Box {
    int msg = -1;
    int parent = -1;
    std::vector<int> children;
};

class Threader {
  public:
    explicit Threader(const std::vector<ThreadMessage>& m) : msgs_(m) {}

    std::vector<ThreadNode> run() {
        for (size_t i = 0; i < msgs_.size(); i++) add(static_cast<int>(i));
        std::vector<int> roots;
        for (size_t b = 0; b < boxes_.size(); b++)
            if (boxes_[b].parent == -1) roots.push_back(static_cast<int>(b));
        for (int r : roots) flatten(r);
        roots = prune(roots, true, 0);
        for (int r : roots) boxes_[r].parent = -1;
        sort_level(roots, 0);
        roots = group_by_subject(roots);
        sort_level(roots, 0);
        std::vector<ThreadNode> out;
        for (int r : roots) out.push_back(node(r, 0));
        return out;
    }

  private:
    int box_for(const std::string& id) {
        auto it = by_id_.find(id);
        if (it != by_id_.end()) return it->second;
        boxes_.push_back({});
        return by_id_[id] = static_cast<int>(boxes_.size() - 1);
    }
    bool is_ancestor(int a, int b) const { // a is b or above it
        for (int x = b, n = 0; x != -1 && n <= static_cast<int>(boxes_.size()); x = boxes_[x].parent, n++)
            if (x == a) return true;
        return false;
    }
    void link(int parent, int child) {
        if (boxes_[child].parent != -1 || is_ancestor(child, parent)) return;
        boxes_[child].parent = parent;
        boxes_[parent].children.push_back(child);
    }
    void unlink(int child) {
        auto& kids = boxes_[boxes_[child].parent].children;
        kids.erase(std::remove(kids.begin(), kids.end(), child), kids.end());
        boxes_[child].parent = -1;
    }

    // RFC 5256 REFERENCES step 1: the chain of its references, then the
    // message under the last one.
    void add(int i) {
        const ThreadMessage& m = msgs_[static_cast<size_t>(i)];
        int prev = -1;
        for (auto& id : m.parents) {
            int b = box_for(id);
            if (prev != -1) link(prev, b);
            prev = b;
        }
        int self = -1;
        auto it = m.message_id.empty() ? by_id_.end() : by_id_.find(m.message_id);
        if (it != by_id_.end() && boxes_[it->second].msg == -1) {
            self = it->second;
        } else { // no Message-ID, or a duplicate one: a box of its own
            boxes_.push_back({});
            self = static_cast<int>(boxes_.size() - 1);
            if (!m.message_id.empty() && it == by_id_.end()) by_id_[m.message_id] = self;
        }
        boxes_[self].msg = i;
        if (boxes_[self].parent != -1) unlink(self);
        if (prev != -1 && prev != self) link(prev, self);
    }

    void flatten(int root) {
        std::vector<std::pair<int, int>> pending{{root, 0}};
        while (!pending.empty()) {
            auto [b, depth] = pending.back();
            pending.pop_back();
            if (depth + 1 < max_depth) {
                for (int c : boxes_[b].children) pending.push_back({c, depth + 1});
                continue;
            }
            std::vector<int> all, below = boxes_[b].children;
            while (!below.empty()) {
                int x = below.back();
                below.pop_back();
                all.push_back(x);
                below.insert(below.end(), boxes_[x].children.begin(), boxes_[x].children.end());
                boxes_[x].children.clear();
                boxes_[x].parent = b;
            }
            boxes_[b].children = all;
        }
    }

    // Step 3: dummies without children go; a dummy's children take its
    // place, except at the top where it has several.
    std::vector<int> prune(const std::vector<int>& level, bool top, int depth) {
        std::vector<int> out;
        for (int b : level) {
            boxes_[b].children = prune(boxes_[b].children, false, depth + 1);
            for (int c : boxes_[b].children) boxes_[c].parent = b;
            if (boxes_[b].msg == -1) {
                if (boxes_[b].children.empty()) continue;
                if (!top || boxes_[b].children.size() == 1) {
                    out.insert(out.end(), boxes_[b].children.begin(), boxes_[b].children.end());
                    continue;
                }
            }
            out.push_back(b);
        }
        return out;
    }

    // The message a box is sorted and grouped by: its own, or a dummy's first child's.
    const ThreadMessage* first(int b) const {
        for (int n = 0; b != -1 && n < max_depth + 2; n++) {
            if (boxes_[b].msg != -1) return &msgs_[static_cast<size_t>(boxes_[b].msg)];
            b = boxes_[b].children.empty() ? -1 : boxes_[b].children.front();
        }
        return nullptr;
    }
    void sort_level(std::vector<int>& level, int depth) {
        for (int b : level)
            if (depth < max_depth + 1) sort_level(boxes_[b].children, depth + 1);
        std::stable_sort(level.begin(), level.end(), [&](int a, int b) {
            const ThreadMessage *x = first(a), *y = first(b);
            if (!x || !y) return x != nullptr;
            return x->date != y->date ? x->date < y->date : x->number < y->number;
        });
    }

    // Step 5: threads whose roots share a base subject are gathered.
    std::vector<int> group_by_subject(const std::vector<int>& roots) {
        std::map<std::string, int> table;
        for (int r : roots) {
            const ThreadMessage* m = first(r);
            if (!m || m->subject.empty()) continue;
            auto it = table.find(m->subject);
            if (it == table.end()) {
                table[m->subject] = r;
                continue;
            }
            int old = it->second;
            bool r_dummy = boxes_[r].msg == -1, old_dummy = boxes_[old].msg == -1;
            bool old_reply = !old_dummy && msgs_[static_cast<size_t>(boxes_[old].msg)].reply;
            bool r_reply = !r_dummy && msgs_[static_cast<size_t>(boxes_[r].msg)].reply;
            if ((r_dummy && !old_dummy) || (old_reply && !r_dummy && !r_reply)) it->second = r;
        }
        std::vector<int> out;
        for (int r : roots) {
            if (boxes_[r].parent != -1) continue; // merged under another already
            const ThreadMessage* m = first(r);
            auto it = m && !m->subject.empty() ? table.find(m->subject) : table.end();
            if (it == table.end()) {
                out.push_back(r);
            } else if (it->second == r) {
                if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
            } else {
                merge(it->second, r, it->second, out);
            }
        }
        return out;
    }
    void merge(int kept, int r, int& entry, std::vector<int>& out) {
        bool k_dummy = boxes_[kept].msg == -1, r_dummy = boxes_[r].msg == -1;
        bool r_reply = !r_dummy && msgs_[static_cast<size_t>(boxes_[r].msg)].reply;
        bool k_reply = !k_dummy && msgs_[static_cast<size_t>(boxes_[kept].msg)].reply;
        if (k_dummy && r_dummy) {
            for (int c : boxes_[r].children) boxes_[c].parent = kept, boxes_[kept].children.push_back(c);
            boxes_[r].children.clear();
        } else if (k_dummy || (r_reply && !k_reply)) {
            boxes_[r].parent = kept, boxes_[kept].children.push_back(r);
        } else { // both messages, neither a reply of the other: under a new dummy
            boxes_.push_back({});
            int d = static_cast<int>(boxes_.size() - 1);
            for (int c : {kept, r}) boxes_[c].parent = d, boxes_[d].children.push_back(c);
            std::replace(out.begin(), out.end(), kept, d);
            entry = d;
            kept = d;
        }
        if (std::find(out.begin(), out.end(), kept) == out.end()) out.push_back(kept);
    }

    ThreadNode node(int b, int depth) const {
        ThreadNode n;
        n.number = boxes_[b].msg == -1 ? 0 : msgs_[static_cast<size_t>(boxes_[b].msg)].number;
        if (depth <= max_depth + 1)
            for (int c : boxes_[b].children) n.children.push_back(node(c, depth + 1));
        return n;
    }

    const std::vector<ThreadMessage>& msgs_;
    std::vector<Box> boxes_;
    std::map<std::string, int> by_id_;
};

void chain(const ThreadNode& n, std::string& out, bool first) {
    if (n.number) out += (first ? "" : " ") + std::to_string(n.number);
    if (n.number && n.children.size() == 1) return chain(n.children[0], out, false);
    if (n.number && !n.children.empty()) out += " ";
    for (auto& c : n.children) {
        out += "(";
        chain(c, out, true);
        out += ")";
    }
}

} // namespace

std::vector<ThreadNode> thread_orderedsubject(std::vector<ThreadMessage> msgs) {
    std::stable_sort(msgs.begin(), msgs.end(), [](auto& a, auto& b) {
        if (a.subject != b.subject) return a.subject < b.subject;
        return a.date != b.date ? a.date < b.date : a.number < b.number;
    });
    std::vector<ThreadNode> out;
    std::vector<int64_t> first_date;
    for (size_t i = 0; i < msgs.size(); i++) {
        if (i == 0 || msgs[i].subject != msgs[i - 1].subject) {
            out.push_back({msgs[i].number, {}});
            first_date.push_back(msgs[i].date);
        } else {
            out.back().children.push_back({msgs[i].number, {}});
        }
    }
    std::vector<size_t> order(out.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return first_date[a] != first_date[b] ? first_date[a] < first_date[b] : out[a].number < out[b].number;
    });
    std::vector<ThreadNode> sorted;
    for (size_t i : order) sorted.push_back(std::move(out[i]));
    return sorted;
}

std::vector<ThreadNode> thread_references(const std::vector<ThreadMessage>& msgs) { return Threader(msgs).run(); }

std::string format_threads(const std::vector<ThreadNode>& roots) {
    std::string out;
    for (auto& r : roots) {
        out += "(";
        chain(r, out, true);
        out += ")";
    }
    return out;
}

std::vector<std::string> message_ids(std::string_view field) {
    std::vector<std::string> out;
    for (size_t i = 0; i < field.size() && out.size() < max_ids;) {
        size_t open = field.find('<', i);
        if (open == std::string_view::npos) break;
        size_t close = field.find('>', open);
        if (close == std::string_view::npos) break;
        std::string id(field.substr(open, close - open + 1));
        if (id.size() > 2 && id.find_first_of(" \t\r\n<", 1) == std::string::npos) out.push_back(std::move(id));
        i = close + 1;
    }
    return out;
}

bool is_reply_subject(std::string_view s) {
    auto skip_space = [&] { while (!s.empty() && (s[0] == ' ' || s[0] == '\t')) s.remove_prefix(1); };
    for (int guard = 0; guard < 100; guard++) {
        skip_space();
        if (!s.empty() && s[0] == '[') { // a blob: [list]
            size_t close = s.find(']');
            if (close == std::string_view::npos) return false;
            s.remove_prefix(close + 1);
            continue;
        }
        break;
    }
    auto starts = [&](std::string_view w) {
        if (s.size() < w.size()) return false;
        for (size_t i = 0; i < w.size(); i++)
            if ((s[i] | 0x20) != w[i]) return false;
        return true;
    };
    for (std::string_view w : {"fwd", "fw", "re"})
        if (starts(w)) {
            std::string_view rest = s.substr(w.size());
            while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
            if (!rest.empty() && rest[0] == '[') { // Re[2]:
                size_t close = rest.find(']');
                if (close == std::string_view::npos) return false;
                rest.remove_prefix(close + 1);
            }
            return !rest.empty() && rest[0] == ':';
        }
    return false;
}

} // namespace mail::imap
