#!/usr/bin/env python3
"""Deterministic generator of tests/corpus/monitoring.json.

A labelled corpus of employee-monitoring content in the Presidio format
(`full_text` + `spans` with `entity_type`, `entity_value`, `start_position`,
`end_position`; positions in code points). Run from anywhere:

    python3 tests/corpus/generate_monitoring.py

Labelling rules (see docs/detection.md):
* Token types use Presidio's names (EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD,
  IBAN_CODE, US_SSN, IP_ADDRESS, DOMAIN_NAME, US_DRIVER_LICENSE, PERSON,
  STREET_ADDRESS, ZIP_CODE) and ours where Presidio has none (SECRET,
  PASSWORD, JWT, PRIVATE_KEY, US_ITIN, UK_NINO, CA_SIN, US_PASSPORT).
* DATE_TIME is labelled only for dates of birth (what our detector targets);
  timestamps in telemetry are not personal data and must stay clean.
* PERSON is labelled for every personal name in prose and for chat/transcript
  speakers, so PERSON recall shows how little name detection covers.
* Text-level types (CHAT, TRANSCRIPT, HEALTH, TAX_FORM, PERFORMANCE_REVIEW,
  FREE_TEXT) label the whole text.
* Telemetry records (keystroke, pointer, UI values) have no spans at all.
"""
import json
import os
import random

R = random.Random(20260512)

FIRST = ["Alice", "Bruno", "Chen", "Dana", "Emeka", "Fatima", "Grace", "Hiro", "Ingrid", "José",
         "Kavya", "Liam", "Maya", "Nikolai", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
         "Uma", "Víctor", "Wen", "Yusuf", "Zoë"]
LAST = ["Okafor", "Lindqvist", "Nakamura", "Garcia", "Kowalski", "Haddad", "Murphy", "Patel",
        "Schmidt", "Rossi", "Dubois", "Novak", "Silva", "Kim", "Johansson", "O'Neill", "Müller"]
DOMAINS = ["acme-corp.com", "contoso.io", "example.org", "fabrikam.net", "initech.co.uk", "globex.de"]
STREETS = ["Maple", "Oak", "Cedar Hill", "Sunset", "Lake View", "Pine", "Highland"]
SUFFIX = ["Street", "Avenue", "Road", "Lane", "Drive", "Court", "Boulevard"]


class Rec:
    """Builds a text piece by piece, tracking labelled spans in code points."""

    def __init__(self, kind):
        self.kind = kind
        self.parts = []
        self.spans = []
        self.n = 0

    def t(self, s):
        self.parts.append(s)
        self.n += len(s)
        return self

    def e(self, entity, s):
        self.spans.append({"entity_type": entity, "entity_value": s,
                           "start_position": self.n, "end_position": self.n + len(s)})
        return self.t(s)

    def whole(self, entity):
        text = "".join(self.parts)
        lead = len(text) - len(text.lstrip())
        end = len(text.rstrip())
        self.spans.append({"entity_type": entity, "entity_value": text[lead:end],
                           "start_position": lead, "end_position": end})
        return self

    def done(self):
        text = "".join(self.parts)
        for s in self.spans:
            assert text[s["start_position"]:s["end_position"]] == s["entity_value"], s
        return {"full_text": text, "spans": sorted(self.spans, key=lambda s: s["start_position"]),
                "metadata": {"kind": self.kind}}


def name():
    return f"{R.choice(FIRST)} {R.choice(LAST)}"


def first():
    return R.choice(FIRST)


def email(n=None):
    n = n or name()
    local = n.lower().replace(" ", ".").replace("'", "")
    local = local.encode("ascii", "ignore").decode() or "user"
    return f"{local}@{R.choice(DOMAINS)}"


def luhn_complete(prefix, length):
    digits = [int(c) for c in prefix]
    while len(digits) < length - 1:
        digits.append(R.randrange(10))
    for check in range(10):
        d = digits + [check]
        total = 0
        for i, x in enumerate(reversed(d)):
            if i % 2 == 1:
                x *= 2
                if x > 9:
                    x -= 9
            total += x
        if total % 10 == 0:
            return "".join(map(str, d))
    raise AssertionError


def card():
    kind = R.choice(["visa", "mc", "amex"])
    if kind == "visa":
        n = luhn_complete("4" + str(R.randrange(10**5)).zfill(5), 16)
    elif kind == "mc":
        n = luhn_complete(str(R.randrange(51, 56)), 16)
    else:
        n = luhn_complete(R.choice(["34", "37"]), 15)
    if len(n) == 16 and R.random() < 0.6:
        sep = R.choice([" ", "-"])
        n = sep.join(n[i:i + 4] for i in range(0, 16, 4))
    return n


def iban():
    country, length = R.choice([("DE", 22), ("GB", 22), ("FR", 27), ("NL", 18), ("ES", 24)])
    if country == "GB":
        bban = "NWBK" + "".join(str(R.randrange(10)) for _ in range(14))
    elif country == "NL":
        bban = "ABNA" + "".join(str(R.randrange(10)) for _ in range(10))
    else:
        bban = "".join(str(R.randrange(10)) for _ in range(length - 4))
    num = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(num) % 97
    s = f"{country}{check:02d}{bban}"
    if R.random() < 0.5:
        s = " ".join(s[i:i + 4] for i in range(0, len(s), 4))
    return s


def ssn():
    area = R.choice([x for x in range(1, 900) if x != 666])
    return f"{area:03d}-{R.randrange(1, 100):02d}-{R.randrange(1, 10000):04d}"


def phone():
    f = R.randrange(5)
    a, b, c = R.randrange(201, 990), R.randrange(200, 999), R.randrange(10000)
    if f == 0:
        return f"({a}) {b}-{c:04d}"
    if f == 1:
        return f"{a}-{b}-{c:04d}"
    if f == 2:
        return f"+1 {a} {b} {c:04d}"
    if f == 3:
        return f"+44 20 {R.randrange(7000, 8000)} {R.randrange(1000, 10000)}"
    return f"+49 30 {R.randrange(1000000, 9999999)}"


def ip():
    return f"{R.randrange(11, 223)}.{R.randrange(256)}.{R.randrange(256)}.{R.randrange(1, 255)}"


def b32(n):
    return "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(n))


def alnum(n):
    return "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def b64url(n):
    return "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(n))


def jwt():
    import base64
    enc = lambda o: base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).decode().rstrip("=")
    head = enc({"alg": R.choice(["HS256", "RS256"]), "typ": "JWT"})
    body = enc({"sub": str(R.randrange(10**6, 10**7)), "name": name(), "iat": R.randrange(1700000000, 1800000000)})
    return f"{head}.{body}.{b64url(43)}"


def dob():
    y, m, d = R.randrange(1955, 2003), R.randrange(1, 13), R.randrange(1, 29)
    return R.choice([f"{m:02d}/{d:02d}/{y}", f"{y}-{m:02d}-{d:02d}",
                     f"{['January', 'March', 'July', 'October'][m % 4]} {d}, {y}"])


def street():
    return f"{R.randrange(1, 9999)} {R.choice(STREETS)} {R.choice(SUFFIX)}"


records = []

# --------------------------------------------------------------- chat logs
CHAT_LINES = [
    "can you send me the Q3 deck before standup?", "sure, give me five minutes",
    "the build is red again on main", "lunch at 12:30?", "pushed a fix, please re-run",
    "who owns the billing service now?", "I'll be out tomorrow afternoon", "thanks!! 🙏",
    "did legal sign off on the vendor contract?", "ok, moving the sync to Thursday",
]
for i in range(36):
    r = Rec("chat")
    a, b = name(), name()
    while b.split()[0] == a.split()[0]:
        b = name()
    turns = R.randrange(2, 5)
    for k in range(turns):
        who = a if k % 2 == 0 else b
        if i % 3 == 0:
            r.t(f"[{9 + k}:{R.randrange(10, 60)}] ")
        r.e("PERSON", who).t(": ")
        if k == 1 and i % 4 == 0:
            r.t("my number is ").e("PHONE_NUMBER", phone()).t(", call me after 5\n")
        elif k == 1 and i % 4 == 1:
            r.t("reach me at ").e("EMAIL_ADDRESS", email(who)).t(" instead\n")
        elif k == 2 and i % 5 == 2:
            r.t("the staging box is ").e("IP_ADDRESS", ip()).t("\n")
        else:
            r.t(R.choice(CHAT_LINES) + "\n")
    records.append(r.whole("CHAT").done())

# ------------------------------------------------------ meeting transcripts
TALK = ["Let's start with the roadmap review.", "We are two weeks behind on the migration.",
        "I think we should cut scope rather than slip the date.", "Agreed, let's take that offline.",
        "Any blockers from the platform team?", "Customer escalations are down twenty percent.",
        "Can everyone update their tickets by Friday?"]
for i in range(22):
    r = Rec("transcript")
    people = [name() for _ in range(3)]
    for k in range(R.randrange(3, 6)):
        mm, ss = divmod(k * 37 + R.randrange(30), 60)
        if i % 2 == 0:
            r.t(f"[00:{mm:02d}:{ss:02d}] ").e("PERSON", people[k % 3]).t(": " + R.choice(TALK) + "\n")
        else:
            r.t(f"Speaker {k % 3 + 1}: " + R.choice(TALK) + "\n")
    records.append(r.whole("TRANSCRIPT").done())

# ------------------------------------------------------- OCR of tax pages
for i in range(22):
    r = Rec("ocr_tax")
    n = name()
    v = i % 3
    if v == 0:
        r.t("Form W-2 Wage and Tax Statement 2025\na Employee's social security number  ").e("US_SSN", ssn())
        r.t("\ne Employee's first name and initial  Last name\n").e("PERSON", n)
        r.t("\n1 Wages, tips, other compensation  " + f"{R.randrange(40000, 180000):,}.00")
        r.t("\n2 Federal income tax withheld  " + f"{R.randrange(4000, 30000):,}.00\n")
    elif v == 1:
        r.t("Form 1040 U.S. Individual Income Tax Return 2025\nYour first name and middle initial ")
        r.e("PERSON", n).t("\nYour social security number ").e("US_SSN", ssn())
        r.t("\nFiling status: Married filing jointly\n11 Adjusted gross income  "
            + f"{R.randrange(50000, 250000):,}\n12 Standard deduction  29,200\n")
    else:
        r.t("Form 1099-NEC Nonemployee Compensation\nRECIPIENT'S TIN ").e("US_SSN", ssn())
        r.t("\nRECIPIENT'S name ").e("PERSON", n).t("\nStreet address ").e("STREET_ADDRESS", street())
        r.t("\n1 Nonemployee compensation $" + f"{R.randrange(2000, 90000):,}.00\n")
    records.append(r.whole("TAX_FORM").done())

# ---------------------------------------------------- OCR of medical pages
DX = ["type 2 diabetes", "hypertension", "major depressive disorder", "generalized anxiety disorder",
      "asthma", "migraine with aura", "chronic lower back pain"]
MEDS = ["metformin 500 mg twice daily", "lisinopril 10 mg once daily", "sertraline 50 mg once daily",
        "albuterol inhaler as needed", "ibuprofen 400 mg as needed"]
for i in range(22):
    r = Rec("ocr_medical")
    n = name()
    r.t("PATIENT VISIT SUMMARY\nPatient: ").e("PERSON", n)
    if i % 2 == 0:
        r.t("\nDate of birth: ").e("DATE_TIME", dob())
    r.t(f"\nDiagnosis: {R.choice(DX)} (ICD-10 {R.choice(['E11.9', 'I10', 'F32.1', 'F41.1', 'J45.909'])})")
    r.t(f"\nSymptoms reported: fatigue, headaches. Lab results pending.\nPrescription: {R.choice(MEDS)}, 30 tablets, 2 refills.\n")
    records.append(r.whole("HEALTH").done())

# ------------------------------------------------------ performance reviews
REVIEW = ["{n} consistently exceeds expectations on delivery and mentors two direct reports.",
          "Overall rating: meets expectations. Areas for improvement: communication skills and estimation.",
          "{n} is being placed on a performance improvement plan after missing goals for two quarters.",
          "Mid-year review: strengths include leadership and teamwork; weaknesses include follow-through.",
          "Calibration rating 2/5 - below expectations. Manager feedback: needs improvement on code quality."]
for i in range(18):
    r = Rec("review")
    n = name()
    r.t("Annual performance review for ").e("PERSON", n).t(". ")
    tmpl = REVIEW[i % len(REVIEW)]
    if "{n}" in tmpl:
        head, tail = tmpl.split("{n}")
        r.t(head).e("PERSON", n).t(tail)
    else:
        r.t(tmpl)
    records.append(r.whole("PERFORMANCE_REVIEW").done())

# ------------------------------------------------------------ bank details
for i in range(24):
    r = Rec("bank")
    v = i % 4
    if v == 0:
        r.t("Please update my direct deposit to IBAN ").e("IBAN_CODE", iban()).t(" from next payroll.")
    elif v == 1:
        r.t("Corporate card for travel: ").e("CREDIT_CARD", card()).t(R.choice([" exp 09/28", ", expires 11/27", ""]))
    elif v == 2:
        r.t("Refund to card ending ").t(str(R.randrange(1000, 9999))).t(", or wire to ").e("IBAN_CODE", iban())
    else:
        r.t("Expense claim #" + str(R.randrange(10000, 99999)) + " paid with ").e("CREDIT_CARD", card())
    records.append(r.done())

# ------------------------------------------------------ secrets in chats
for i in range(24):
    r = Rec("secret")
    v = i % 8
    r.e("PERSON", first()).t(": ")
    if v == 0:
        r.t("use this key for now ").e("SECRET", "AKIA" + b32(16))
    elif v == 1:
        r.t("here's my token ").e("SECRET", "ghp_" + alnum(36)).t(" don't share it")
    elif v == 2:
        r.t("db creds: user=svc_app password=").e("PASSWORD", alnum(12) + "!")
    elif v == 3:
        r.t("curl -H 'Authorization: Bearer ").e("JWT", jwt()).t("' ").e("DOMAIN_NAME", "https://api.contoso.io/v1/me")
    elif v == 4:
        r.t("stripe test key ").e("SECRET", "sk_live_" + alnum(24))
    elif v == 5:
        r.t("pasting the deploy key:\n").e("PRIVATE_KEY", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + alnum(64) + "\n" + alnum(64) + "\n-----END OPENSSH PRIVATE KEY-----")
    elif v == 6:
        r.t("slack bot token is ").e("SECRET", f"xoxb-{R.randrange(10**11, 10**12)}-{R.randrange(10**11, 10**12)}-{alnum(24)}")
    else:
        r.t("API_KEY=").e("SECRET", alnum(32))
    records.append(r.done())

# ------------------------------------------- identifiers in short messages
for i in range(30):
    r = Rec("identifiers")
    v = i % 10
    if v == 0:
        r.t("Hi, my name is ").e("PERSON", name()).t(" and my email is ").e("EMAIL_ADDRESS", email())
    elif v == 1:
        r.t("Grüße aus München — schreib mir an ").e("EMAIL_ADDRESS", email())
    elif v == 2:
        r.t("Office phone: ").e("PHONE_NUMBER", phone()).t(", mobile ").e("PHONE_NUMBER", phone())
    elif v == 3:
        r.t("SSN on file: ").e("US_SSN", ssn())
    elif v == 4:
        r.t("Driver's license number ").e("US_DRIVER_LICENSE", R.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + str(R.randrange(10**6, 10**7) * 10 + R.randrange(10))).t(", issued in CA")
    elif v == 5:
        r.t("I live at ").e("STREET_ADDRESS", street()).t(", zip code ").e("ZIP_CODE", f"{R.randrange(10000, 99999)}")
    elif v == 6:
        r.t("The VPN logs show a login from ").e("IP_ADDRESS", ip()).t(" at 03:12")
    elif v == 7:
        r.t("Docs are at ").e("DOMAIN_NAME", "https://wiki." + R.choice(DOMAINS) + "/onboarding")
    elif v == 8:
        r.t("Employee: ").e("PERSON", name()).t(", born ").e("DATE_TIME", dob())
    else:
        r.t("Passport number ").e("US_PASSPORT", R.choice("ACEGX") + str(R.randrange(10**7, 10**8))).t(" for the visa appointment")
    records.append(r.done())

# ---------------------------------------------- hard negatives (no spans)
NEG = [
    lambda: f"Order #{R.randrange(10**7, 10**8)} shipped, tracking 1Z{alnum(16).upper()}",
    lambda: f"Invoice INV-2026-{R.randrange(100000, 999999)} is due on 2026-06-{R.randrange(10, 29)}",
    lambda: f"Build {R.randrange(1, 9)}.{R.randrange(0, 20)}.{R.randrange(0, 300)} deployed to prod-eu-{R.randrange(1, 4)}",
    lambda: f"Ticket JIRA-{R.randrange(1000, 9999)}: p95 latency {R.randrange(80, 900)} ms over {R.randrange(1000, 99999)} requests",
    lambda: f"Commit {''.join(R.choice('0123456789abcdef') for _ in range(40))} reverted",
    lambda: f"Meeting moved to {R.randrange(1, 12)}:{R.choice(['00', '15', '30', '45'])} in room {R.randrange(100, 999)}",
    lambda: f"Request id {''.join(R.choice('0123456789abcdef') for _ in range(8))}-{''.join(R.choice('0123456789abcdef') for _ in range(4))}-4{''.join(R.choice('0123456789abcdef') for _ in range(3))}-a{''.join(R.choice('0123456789abcdef') for _ in range(3))}-{''.join(R.choice('0123456789abcdef') for _ in range(12))}",
    lambda: f"Sprint velocity was {R.randrange(20, 60)} points; {R.randrange(2, 9)} stories carried over",
]
for i in range(24):
    r = Rec("negative")
    r.t(NEG[i % len(NEG)]())
    records.append(r.done())

# -------------------------------------- telemetry values that must stay clean
def telemetry():
    k = R.randrange(14)
    if k == 0:
        return str(R.randrange(20, 900))  # keystroke interval_ms
    if k == 1:
        return R.choice(["KeyA", "KeyS", "Space", "Enter", "Backspace", "ShiftLeft", "ArrowDown", "Digit7"])
    if k == 2:
        return f"{R.randrange(0, 3840)},{R.randrange(0, 2160)}"  # pointer x,y
    if k == 3:
        return f"mousemove dx={R.randrange(-40, 40)} dy={R.randrange(-40, 40)} t={R.randrange(10**12, 10**13)}"
    if k == 4:
        return str(R.randrange(10**12, 10**13))  # epoch ms
    if k == 5:
        return R.choice(["btn-refresh", "nav-inbox", "menu.file.save", "tab-settings", "input-search"])
    if k == 6:
        return R.choice(["click", "dblclick", "scroll", "focus", "blur", "keydown", "keyup", "wheel"])
    if k == 7:
        return f"{R.random():.6f}"  # velocity, pressure
    if k == 8:
        return f"2026-05-{R.randrange(10, 29)}T{R.randrange(0, 24):02d}:{R.randrange(60):02d}:{R.randrange(60):02d}.{R.randrange(1000):03d}Z"
    if k == 9:
        return " ".join(str(R.randrange(30, 400)) for _ in range(R.randrange(8, 20)))  # interval series
    if k == 10:
        return f"{R.randrange(1, 5)}/{R.randrange(1, 30)}/{R.randrange(100, 999)}"  # idle/active/total
    if k == 11:
        return R.choice(["Inbox - Outlook", "main.rs - scopecheck - Visual Studio Code", "Slack | #general", "Jira Board"])
    if k == 12:
        return f"{R.randrange(0, 1920)} {R.randrange(0, 1080)} {R.randrange(0, 1920)} {R.randrange(0, 1080)}"
    return f"#{''.join(R.choice('0123456789abcdef') for _ in range(6))}"


for i in range(60):
    r = Rec("telemetry")
    r.t(telemetry())
    records.append(r.done())

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "monitoring.json")
with open(out, "w", encoding="utf-8") as f:
    json.dump(records, f, ensure_ascii=False, indent=1)
    f.write("\n")
print(f"{len(records)} records -> {out}")
