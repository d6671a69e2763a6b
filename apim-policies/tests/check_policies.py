"""Static and behavioural checks of the APIM policies, fixtures and their wiring.

Run by scripts/check-apim-infra.sh from the repository root; each step prints PASS or FAIL
lines and the process exits non-zero if any failed.

  wellformed   every XML file in apim-policies/ parses; fragments have a <fragment> root
  references   every fragment is documented in apim-policies/README.md, deployed by the Bicep
               (name and loadTextContent path), and included by the API policy; the fragments'
               logger-id is the logger the Bicep creates
  allowlist    policy expressions use only .NET types and members on APIM's allow-list, no
               culture-sensitive string comparison, attribute expressions hold no // comments
               (XML folds their newlines), and no text looks like a {{named value}}
  contract     every JSON property name the policies emit is in the event schema, and every
               property the schema requires is emitted
  fixtures     every fixtures/apim/*.json validates against the schema, stays under the size
               budget and carries no key
  harness      the expressions, compiled with Mono against a stand-in context, turn every
               scenario into the expected events (fixtures are compared byte for byte as JSON)

  python3 apim-policies/tests/check_policies.py [STEP ...] [--write-fixtures]
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
POLICY_DIR = ROOT / "apim-policies"
SCHEMA_PATH = ROOT / "schemas" / "usage-event.v1.schema.json"
FIXTURE_DIR = ROOT / "fixtures" / "apim"
INFRA_DIR = ROOT / "infra"
BUDGET = 190_000

REQUIRED_FIXTURES = [
    "chat.json", "completions.json", "embeddings.json", "responses.json",
    "chat-streamed-include-usage.json", "chat-streamed-captured.json",
    "responses-streamed-captured.json", "failed-content-filter.json", "failed-429.json",
]

# Simple names of the types on API Management's policy-expression allow-list
# (learn.microsoft.com/azure/api-management/api-management-policy-expressions#CLRTypes).
ALLOWED_TYPES = {
    "Formatting", "JsonConvert", "Extensions", "JArray", "JConstructor", "JContainer", "JObject",
    "JProperty", "JRaw", "JToken", "JTokenType", "JValue", "Array", "BitConverter", "Boolean",
    "Byte", "Char", "Dictionary", "HashSet", "ICollection", "IDictionary", "IEnumerable",
    "IEnumerator", "IList", "IReadOnlyCollection", "IReadOnlyDictionary", "ISet", "KeyValuePair",
    "List", "Queue", "Stack", "Convert", "DateTime", "DateTimeKind", "DateTimeOffset", "Decimal",
    "Double", "Exception", "Guid", "Int16", "Int32", "Int64", "StringReader", "StringWriter",
    "Enumerable", "Math", "MidpointRounding", "IPAddress", "WebUtility", "Nullable", "Random",
    "SByte", "Single", "String", "StringComparer", "StringComparison", "StringSplitOptions",
    "Encoding", "Capture", "CaptureCollection", "Group", "GroupCollection", "Match", "Regex",
    "RegexOptions", "StringBuilder", "TimeSpan", "TimeZone", "TimeZoneInfo", "Tuple", "UInt16",
    "UInt32", "UInt64", "Uri", "UriPartial", "XAttribute", "XCData", "XComment", "XContainer",
    "XDeclaration", "XDocument", "XDocumentType", "XElement", "XName", "XNamespace", "XNode",
    "XObject", "XProcessingInstruction", "XText", "XmlNodeType",
}
# Members the allow-list restricts (everything else on these types is "All").
ALLOWED_MEMBERS = {
    "DateTime": {"Add", "AddDays", "AddHours", "AddMilliseconds", "AddMinutes", "AddMonths", "AddSeconds",
                 "AddTicks", "AddYears", "Date", "Day", "DayOfWeek", "DayOfYear", "DaysInMonth", "Hour",
                 "IsDaylightSavingTime", "IsLeapYear", "MaxValue", "Millisecond", "Minute", "MinValue",
                 "Month", "Now", "Parse", "Second", "Subtract", "Ticks", "TimeOfDay", "Today", "ToString",
                 "UtcNow", "Year"},
    "Regex": {"Match", "IsMatch", "Matches", "Replace", "Unescape", "Split"},
    "JsonConvert": {"SerializeObject", "DeserializeObject"},
}
# Members of System.DateTime that are not allowed, caught on any receiver (context.Timestamp...).
FORBIDDEN_PATTERNS = [
    (r"\bSystem\.(Globalization|Threading|Reflection|Diagnostics|Net\.Http)\b", "namespace not on the allow-list"),
    (r"\bCultureInfo\b", "System.Globalization.CultureInfo is not on the allow-list"),
    (r"\.(ToUniversalTime|ToLocalTime|SpecifyKind|ParseExact|TryParseExact)\s*\(", "DateTime member not on the allow-list"),
    (r"\.Kind\b", "DateTime.Kind is not on the allow-list"),
    (r"\b(Func|Action|Task|Thread)\s*<", "delegate/thread types are not on the allow-list"),
    (r"\b(dynamic|typeof|unsafe|stackalloc)\b", "not available in policy expressions"),
    (r"\.GetType\s*\(", "reflection is not available in policy expressions"),
    (r"\bcontext\.Subscription\??\.(Key|PrimaryKey|SecondaryKey)\b", "the subscription key must never be read"),
]
# Identifiers the type scan would otherwise flag: C# keywords spelled with a capital never
# occur, so these are only context members reached without a dot (none today).
KNOWN_NON_TYPES: set[str] = set()


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.passes = 0

    def ok(self, step: str, message: str) -> None:
        self.passes += 1
        print(f"  PASS [{step}] {message}")

    def fail(self, step: str, message: str) -> None:
        self.failures.append(f"[{step}] {message}")
        print(f"  FAIL [{step}] {message}")

    def check(self, step: str, condition: bool, message: str) -> bool:
        (self.ok if condition else self.fail)(step, message)
        return condition


def policy_files() -> list[Path]:
    return sorted(POLICY_DIR.glob("*.xml"))


def fragment_files() -> list[Path]:
    out = []
    for path in policy_files():
        try:
            if ET.parse(path).getroot().tag == "fragment":
                out.append(path)
        except ET.ParseError:
            pass
    return out


def expressions(path: Path) -> list[tuple[str, str, bool]]:
    """(where, code, in_attribute) for every policy expression in a policy file, XML-decoded."""
    out = []
    for element in ET.parse(path).getroot().iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if value.startswith("@(") or value.startswith("@{"):
                out.append((f"{path.name} <{element.tag} {name}>", value, True))
        text = element.text or ""
        if text.startswith("@(") or text.startswith("@{"):
            out.append((f"{path.name} <{element.tag}> text", text, False))
        elif text.strip().startswith("@"):
            out.append((f"{path.name} <{element.tag}> text (leading whitespace: APIM would log it literally)", text, False))
    return out


def strip_literals(code: str) -> tuple[str, bool]:
    """Blank out string/char literals and comments; report whether a // comment was seen."""
    out = []
    i = 0
    line_comment = False
    while i < len(code):
        c = code[i]
        if code.startswith('@"', i):
            j = i + 2
            while j < len(code):
                if code[j] == '"' and code[j + 1:j + 2] == '"':
                    j += 2
                    continue
                if code[j] == '"':
                    break
                j += 1
            out.append('""')
            i = j + 1
        elif c == '"':
            j = i + 1
            while j < len(code) and code[j] != '"':
                j += 2 if code[j] == "\\" else 1
            out.append('""')
            i = j + 1
        elif c == "'":
            j = i + 1
            while j < len(code) and code[j] != "'":
                j += 2 if code[j] == "\\" else 1
            out.append("' '")
            i = j + 1
        elif code.startswith("//", i):
            line_comment = True
            j = code.find("\n", i)
            i = len(code) if j < 0 else j
        elif code.startswith("/*", i):
            j = code.find("*/", i + 2)
            i = len(code) if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out), line_comment


def step_wellformed(report: Report) -> None:
    files = policy_files()
    report.check("wellformed", len(files) > 0, f"{len(files)} XML files in apim-policies/")
    for path in files:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            report.fail("wellformed", f"{path.name}: {e}")
            continue
        report.check("wellformed", root.tag in ("fragment", "policies"),
                     f"{path.name}: well-formed, root <{root.tag}>")


def step_references(report: Report) -> None:
    readme = (POLICY_DIR / "README.md").read_text()
    bicep = {p: p.read_text() for p in INFRA_DIR.rglob("*.bicep")}
    all_bicep = "\n".join(bicep.values())
    fragments = fragment_files()
    report.check("references", len(fragments) >= 2, f"{len(fragments)} fragments")
    api_policy = ET.parse(POLICY_DIR / "azure-openai-api.policy.xml").getroot()
    included = {e.get("fragment-id") for e in api_policy.iter("include-fragment")}
    for path in fragments:
        fid = path.stem
        report.check("references", f'<include-fragment fragment-id="{fid}"' in readme,
                     f"{fid}: README shows <include-fragment fragment-id=\"{fid}\" />")
        report.check("references", re.search(rf"loadTextContent\('[./]*apim-policies/{re.escape(path.name)}'\)", all_bicep) is not None,
                     f"{fid}: Bicep loads apim-policies/{path.name}")
        report.check("references", re.search(rf"name:\s*'{re.escape(fid)}'", all_bicep) is not None,
                     f"{fid}: Bicep deploys a policyFragments resource named '{fid}'")
        report.check("references", fid in included, f"{fid}: included by azure-openai-api.policy.xml")
    for fid in sorted(included - {p.stem for p in fragments}):
        report.fail("references", f"azure-openai-api.policy.xml includes unknown fragment {fid}")
    report.check("references", "loadTextContent('../../apim-policies/azure-openai-api.policy.xml')" in all_bicep,
                 "Bicep deploys azure-openai-api.policy.xml as the API policy")
    placeholders = set(re.findall(r"__[A-Z_]+__", (POLICY_DIR / "azure-openai-api.policy.xml").read_text()))
    for token in sorted(placeholders):
        report.check("references", f"'{token}'" in all_bicep, f"API policy placeholder {token} is replaced by the Bicep")
    loggers = {e.get("logger-id") for p in fragments for e in ET.parse(p).getroot().iter("log-to-eventhub")}
    m = re.search(r"var\s+loggerName\s*=\s*'([^']+)'", all_bicep)
    report.check("references", m is not None and loggers == {m.group(1)},
                 f"log-to-eventhub logger-id {sorted(loggers)} is the logger the Bicep creates ({m.group(1) if m else 'none'})")
    for path in fragments:
        for element in ET.parse(path).getroot().iter("log-to-eventhub"):
            report.check("references", element.get("partition-key") is not None and element.get("partition-id") is None,
                         f"{path.name}: log-to-eventhub uses partition-key (not partition-id)")


def step_allowlist(report: Report) -> None:
    count = 0
    for path in policy_files():
        # {{name}} is API Management's named-value syntax, expanded before anything else.
        for hit in re.finditer(r"\{\{|\}\}", path.read_text()):
            report.fail("allowlist", f"{path.name}: '{hit.group(0)}' would be read as a named-value reference")
        for where, code, in_attribute in expressions(path):
            count += 1
            if "leading whitespace" in where:
                report.fail("allowlist", where)
                continue
            for hit in re.finditer(r'\.(StartsWith|EndsWith|IndexOf|LastIndexOf)\(\s*"(?:[^"\\]|\\.)*"\s*\)|\.(ToUpper|ToLower)\(\s*\)', code):
                report.fail("allowlist", f"{where}: '{hit.group(0)}' is culture-sensitive; pass StringComparison.Ordinal (or use the Invariant variant)")
            bare, line_comment = strip_literals(code[2:-1])
            if in_attribute and line_comment:
                report.fail("allowlist", f"{where}: // comment in an attribute expression")
            for pattern, why in FORBIDDEN_PATTERNS:
                for hit in re.finditer(pattern, bare):
                    report.fail("allowlist", f"{where}: '{hit.group(0)}': {why}")
            for hit in re.finditer(r"(?<![.\w])([A-Z][A-Za-z0-9_]*)\b", bare):
                name = hit.group(1)
                if name not in ALLOWED_TYPES and name not in KNOWN_NON_TYPES:
                    report.fail("allowlist", f"{where}: type '{name}' is not on the allow-list")
            for type_name, members in ALLOWED_MEMBERS.items():
                for hit in re.finditer(rf"(?<![.\w]){type_name}\.(\w+)", bare):
                    if hit.group(1) not in members:
                        report.fail("allowlist", f"{where}: {type_name}.{hit.group(1)} is not on the allow-list")
            for hit in re.finditer(r"context\.Timestamp\.(\w+)", bare):
                if hit.group(1) not in ALLOWED_MEMBERS["DateTime"]:
                    report.fail("allowlist", f"{where}: DateTime.{hit.group(1)} is not on the allow-list")
    report.check("allowlist", count > 0 and not [f for f in report.failures if f.startswith("[allowlist]")],
                 f"{count} expressions use only allow-listed types and members")


def step_contract(report: Report, schema: dict) -> None:
    emitted: set[str] = set()
    for path in fragment_files():
        for _, code, _ in expressions(path):
            emitted |= set(re.findall(r'new\s+JProperty\(\s*"([^"]+)"', code))
            emitted |= set(re.findall(r'\bev\["([^"]+)"\]\s*=', code))
    top = set(schema["properties"])
    capture = set(schema["$defs"]["capture"]["properties"])
    report.check("contract", bool(emitted), f"policies emit {len(emitted)} property names")
    for name in sorted(emitted):
        report.check("contract", name in top or name in capture,
                     f"emitted property '{name}' is in the schema ({'event' if name in top else 'capture' if name in capture else 'nowhere'})")
    for name in schema["required"]:
        report.check("contract", name in emitted, f"required property '{name}' is emitted")


def validator(schema: dict):
    import jsonschema
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def event_problems(v, event_text: str) -> list[str]:
    problems = []
    size = len(event_text.encode("utf-8"))
    if size > BUDGET:
        problems.append(f"{size} bytes, over the {BUDGET}-byte budget")
    try:
        event = json.loads(event_text)
    except json.JSONDecodeError as e:
        return problems + [f"not JSON: {e}"]
    problems += [f"schema: {e.message} at /{'/'.join(map(str, e.absolute_path))}" for e in v.iter_errors(event)]
    if "KEY-MUST-NEVER-BE-LOGGED" in event_text or "caller-key-never-logged" in event_text:
        problems.append("carries a subscription or api key")
    return problems


def step_fixtures(report: Report, schema: dict) -> None:
    v = validator(schema)
    present = sorted(p.name for p in FIXTURE_DIR.glob("*.json"))
    for name in REQUIRED_FIXTURES:
        report.check("fixtures", name in present, f"fixtures/apim/{name} exists")
    for name in present:
        text = (FIXTURE_DIR / name).read_text()
        problems = event_problems(v, text)
        report.check("fixtures", not problems, f"{name} validates against the schema" + (": " + "; ".join(problems) if problems else ""))


def lookup(event: dict, dotted: str):
    node = event
    for part in dotted.split("."):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                raise KeyError(dotted)
            node = node[part]
        else:
            raise KeyError(dotted)
    return node


def synthetic_scenarios(work: Path) -> list[Path]:
    """Scenarios too large to keep in the repository: the size budget and the large-body paths."""
    base = json.loads((HERE / "scenarios" / "chat-streamed-captured.json").read_text())
    rng = random.Random(4)
    words = ["allocation", "invoice", "token", "budget", "team", "month", "usage", "deployment", "model", "report"]
    out: list[Path] = []

    def chunk(delta: dict, index: int = 0, finish=None) -> str:
        return "data: " + json.dumps({
            "choices": [{"content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}, "delta": delta,
                         "finish_reason": finish, "index": index, "logprobs": None}],
            "created": 1760443741, "id": "chatcmpl-SYNTHETIC", "model": "gpt-4o-2024-08-06",
            "object": "chat.completion.chunk", "system_fingerprint": "fp_ee1d74bde0"}, separators=(",", ":")) + "\n\n"

    def write(name: str, scenario: dict, sse: str | None = None) -> None:
        if sse is not None:
            (work / f"{name}.sse").write_text(sse)
            scenario["response"]["body_file"] = f"{name}.sse"
        path = work / f"{name}.json"
        path.write_text(json.dumps(scenario))
        out.append(path)

    # 1. Long stream, short request: SSE too big, joined text fits -> text, not truncated.
    pieces = [" " + rng.choice(words) for _ in range(3000)]
    sse = "".join(chunk({"content": p}) for p in pieces) + chunk({}, finish="stop") + "data: [DONE]\n\n"
    s = json.loads(json.dumps(base))
    s["request_id"] = "aaaaaaaa-0000-4000-8000-000000000001"
    s["expect"] = {"events": 1, "fields": {"capture.sse": None, "capture.text": "".join(pieces), "capture.truncated": False}}
    write("long-stream-joined-text", s, sse)

    # 2. Huge request and huge output: both cut, truncated, under budget.
    s = json.loads(json.dumps(base))
    s["request_id"] = "aaaaaaaa-0000-4000-8000-000000000002"
    s["request"]["body"]["messages"] = [{"role": "system", "content": "Be precise."},
                                        {"role": "user", "content": " ".join(rng.choice(words) for _ in range(60000))}]
    pieces = [" " + rng.choice(words) for _ in range(40000)]
    sse = "".join(chunk({"content": p}) for p in pieces) + "data: [DONE]\n\n"
    s["expect"] = {"events": 1, "fields": {"capture.truncated": True, "capture.sse": None, "capture.request.messages.0.content": "Be precise."}}
    write("huge-request-and-output", s, sse)

    # 3. Multi-byte request (3 bytes a character in UTF-8): the budget is in bytes, not characters.
    s = json.loads(json.dumps(base))
    s["request_id"] = "aaaaaaaa-0000-4000-8000-000000000003"
    s["request"]["body"]["messages"] = [{"role": "user", "content": "請總結本月的費用分攤。" * 12000}]
    s["response"]["body_file"] = str((HERE / "scenarios" / "bodies" / "chat-stream-captured.sse").resolve())
    s["expect"] = {"events": 1, "fields": {"capture.truncated": True}}
    write("multibyte-request", s, None)

    # 4. An inline image (data: URL) is dropped from the captured request, the text kept whole.
    s = json.loads(json.dumps(base))
    s["request_id"] = "aaaaaaaa-0000-4000-8000-000000000006"
    image = "data:image/png;base64," + "iVBORw0KGgo" * 40000
    s["request"]["body"]["messages"] = [{"role": "user", "content": [
        {"type": "text", "text": "What is on this invoice?"},
        {"type": "image_url", "image_url": {"url": image, "detail": "high"}}]}]
    s["response"]["body_file"] = str((HERE / "scenarios" / "bodies" / "chat-stream-captured.sse").resolve())
    s["expect"] = {"events": 1, "fields": {
        "capture.truncated": False,
        "capture.request.messages.0.content.0.text": "What is on this invoice?",
        "capture.request.messages.0.content.1.image_url.url": "data:image/png;base64,omitted-by-aoai-chargeback"}}
    write("inline-image-dropped", s, None)

    # 5. Tool calls and two choices, joined per choice and per call.
    deltas = [({"role": "assistant", "content": None, "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
               "function": {"name": "get_invoice", "arguments": ""}}]}, 0)]
    for part in ['{"inv', 'oice_id', '": "INV-', '2026-10', '"}']:
        deltas.append(({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}, 0))
    for p in ["Second", " choice", " text"] * 4000:
        deltas.append(({"content": p}, 1))
    sse = "".join(chunk(d, index=i) for d, i in deltas) + "data: [DONE]\n\n"
    s = json.loads(json.dumps(base))
    s["request_id"] = "aaaaaaaa-0000-4000-8000-000000000004"
    s["expect"] = {"events": 1, "fields": {"capture.sse": None, "capture.truncated": False,
                                           "capture.text": 'get_invoice{"invoice_id": "INV-2026-10"}\n' + "Second choice text" * 4000}}
    write("tool-calls-joined", s, sse)

    # 6. Embeddings response over 1 MB: usage and model read by pattern.
    emb = json.loads((HERE / "scenarios" / "embeddings.json").read_text())
    emb["request_id"] = "aaaaaaaa-0000-4000-8000-000000000005"
    vectors = [{"embedding": [round(rng.uniform(-0.1, 0.1), 6) for _ in range(1536)], "index": i, "object": "embedding"} for i in range(128)]
    emb["response"]["body"] = {"data": vectors, "model": "text-embedding-3-small", "object": "list",
                               "usage": {"prompt_tokens": 4096, "total_tokens": 4096}}
    emb["expect"] = {"events": 1, "fields": {"usage": {"prompt_tokens": 4096, "total_tokens": 4096}, "model": "text-embedding-3-small"}}
    assert len(json.dumps(emb["response"]["body"])) > 1_048_576
    write("large-embeddings-body", emb)
    return out


def step_harness(report: Report, schema: dict, write_fixtures: bool) -> None:
    import shutil
    from policy_harness import build, run
    if shutil.which("mcs") is None or shutil.which("mono") is None:
        report.fail("harness", "mcs/mono not found (Debian packages mono-mcs, libnewtonsoft-json5.0-cil)")
        return
    v = validator(schema)
    work = ROOT / "target" / "apim-harness"
    work.mkdir(parents=True, exist_ok=True)
    try:
        exe = build(work)
    except Exception as e:  # compile errors are the finding
        report.fail("harness", f"policy expressions do not compile:\n{e}")
        return
    report.ok("harness", "every policy expression compiles (Mono mcs, C# 7, Newtonsoft.Json)")
    synthetic_dir = Path(tempfile.mkdtemp(prefix="scenarios-", dir=work))
    scenarios = sorted((HERE / "scenarios").glob("*.json")) + synthetic_scenarios(synthetic_dir)
    results = run(exe, scenarios)
    for scenario_path, result in zip(scenarios, results):
        name = scenario_path.stem
        scenario = json.loads(scenario_path.read_text())
        expect = scenario.get("expect", {})
        problems: list[str] = []
        if "exception" in result:
            problems.append("expression threw: " + result["exception"].splitlines()[0])
        events = result["events"]
        if len(events) != expect.get("events", 1):
            problems.append(f"{len(events)} events logged, expected {expect.get('events', 1)}")
        for e in events:
            if e["logger"] != "aoai-chargeback":
                problems.append(f"logger {e['logger']}")
            problems += event_problems(v, e["message"])
        event = json.loads(events[0]["message"]) if events else None
        if event is not None:
            sub = scenario.get("subscription")
            want_key = expect.get("partition_key", sub["id"] if sub else "no-subscription")
            if events[0]["partition_key"] != want_key:
                problems.append(f"partition key {events[0]['partition_key']!r}, expected {want_key!r}")
            for dotted, want in expect.get("fields", {}).items():
                try:
                    got = lookup(event, dotted)
                except (KeyError, IndexError, ValueError):
                    problems.append(f"{dotted} missing")
                    continue
                if got != want:
                    shown = json.dumps(got)[:120]
                    problems.append(f"{dotted} = {shown}, expected {json.dumps(want)[:120]}")
            for absent in expect.get("absent", []):
                if absent in event:
                    problems.append(f"{absent} present")
            if event.get("request_id") != scenario["request_id"]:
                problems.append("request_id is not context.RequestId")
        if "sent_body" in expect and result["sent_body"] != expect["sent_body"]:
            problems.append(f"request body was changed: {str(result['sent_body'])[:120]}")
        if "sent_body_contains" in expect and expect["sent_body_contains"] not in (result["sent_body"] or ""):
            problems.append(f"request body lacks {expect['sent_body_contains']}: {str(result['sent_body'])[:160]}")
        if result["sent_body"]:
            try:
                json.loads(result["sent_body"])
            except json.JSONDecodeError:
                problems.append("rewritten request body is not JSON")
        fixture = expect.get("fixture")
        if fixture and event is not None:
            path = FIXTURE_DIR / fixture
            pretty = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
            if write_fixtures:
                path.write_text(pretty)
            elif not path.exists() or json.loads(path.read_text()) != event:
                problems.append(f"fixtures/apim/{fixture} differs from what the policies emit (rerun with --write-fixtures)")
        report.check("harness", not problems, f"scenario {name}" + (": " + "; ".join(problems) if problems else ""))


def main(argv: list[str]) -> int:
    write_fixtures = "--write-fixtures" in argv
    steps = [a for a in argv if not a.startswith("--")] or ["wellformed", "references", "allowlist", "contract", "fixtures", "harness"]
    schema = json.loads(SCHEMA_PATH.read_text())
    report = Report()
    sys.path.insert(0, str(HERE))
    for step in steps:
        print(f"== {step}")
        if step == "wellformed":
            step_wellformed(report)
        elif step == "references":
            step_references(report)
        elif step == "allowlist":
            step_allowlist(report)
        elif step == "contract":
            step_contract(report, schema)
        elif step == "fixtures":
            step_fixtures(report, schema)
        elif step == "harness":
            step_harness(report, schema, write_fixtures)
        else:
            print(f"unknown step {step}")
            return 2
    print(f"{report.passes} passed, {len(report.failures)} failed")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
