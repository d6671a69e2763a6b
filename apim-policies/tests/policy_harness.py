"""Run the chargeback policy fragments' C# expressions outside API Management.

The fragments and the API policy in apim-policies/ are parsed as XML (so entities are decoded
exactly as the gateway decodes them), every policy expression becomes a C# method compiled by
Mono's mcs against harness/Context.cs (a stand-in for APIM's `context`) and Newtonsoft.Json,
and the policy elements the fragments use (set-variable, choose, set-body, log-to-eventhub,
include-fragment) become statements that call them. Each scenario in scenarios/ then runs
through the API policy's inbound, outbound and on-error sections and reports what was logged.

This proves the expressions compile, return on every path and build schema-valid events from
realistic requests and responses. It cannot prove the gateway accepts them; see the
allow-list check in check_policies.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
POLICY_DIR = HERE.parent

# Policies that only matter to a real gateway: the harness treats them as no-ops.
NO_OP = {"base", "set-backend-service", "authentication-managed-identity", "forward-request"}

NEWTONSOFT_CANDIDATES = [
    "/usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll",
]


def find_newtonsoft() -> str:
    for candidate in NEWTONSOFT_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    gac = Path("/usr/lib/mono/gac/Newtonsoft.Json")
    if gac.is_dir():
        for dll in sorted(gac.glob("*/Newtonsoft.Json.dll")):
            return str(dll)
    raise FileNotFoundError("Newtonsoft.Json.dll not found (Debian package libnewtonsoft-json5.0-cil)")


def is_expression(value: str | None) -> bool:
    return value is not None and (value.startswith("@(") or value.startswith("@{"))


class Generator:
    def __init__(self) -> None:
        self.methods: list[str] = []
        self.count = 0
        self.fragments: dict[str, ET.Element] = {}
        self.used_fragments: set[str] = set()

    def expression(self, source: str, where: str) -> str:
        """Turn `@(...)` / `@{...}` into a method; return the call."""
        self.count += 1
        name = f"E{self.count}"
        if source.startswith("@(") and source.endswith(")"):
            body = f"return ({source[2:-1]});"
        elif source.startswith("@{") and source.endswith("}"):
            body = source[2:-1]
        else:
            raise ValueError(f"{where}: malformed policy expression")
        self.methods.append(
            f"static object {name}(Context context) {{\n#line 1 \"{where}\"\n{body}\n#line default\n}}\n"
        )
        return f"{name}(context)"

    def value(self, value: str | None, where: str) -> str:
        if value is None:
            return "null"
        if is_expression(value):
            return self.expression(value, where)
        return json.dumps(value)

    def statements(self, element: ET.Element, where: str) -> list[str]:
        out: list[str] = []
        for index, child in enumerate(element):
            if not isinstance(child.tag, str):
                continue  # comments
            here = f"{where}/{child.tag}[{index}]"
            tag = child.tag
            if tag in NO_OP:
                continue
            if tag == "set-variable":
                out.append(f'context.SetVariable({json.dumps(child.get("name"))}, {self.value(child.get("value"), here)});')
            elif tag == "choose":
                first = True
                for branch in child:
                    if not isinstance(branch.tag, str):
                        continue
                    body = "\n".join(self.statements(branch, f"{here}/{branch.tag}"))
                    if branch.tag == "when":
                        cond = self.value(branch.get("condition"), f"{here}/when@condition")
                        out.append(f"{'if' if first else 'else if'} (PolicyExtensions.Truthy({cond})) {{\n{body}\n}}")
                        first = False
                    elif branch.tag == "otherwise":
                        out.append(f"else {{\n{body}\n}}")
                    else:
                        raise ValueError(f"{here}: unexpected <{branch.tag}> in <choose>")
            elif tag == "set-body":
                out.append(f"context.Request.SetBody((string){self.value(child.text, here)});")
            elif tag == "log-to-eventhub":
                if child.get("partition-id") is not None and child.get("partition-key") is not None:
                    raise ValueError(f"{here}: partition-id and partition-key are exclusive")
                logger = child.get("logger-id")
                if not logger or is_expression(logger):
                    raise ValueError(f"{here}: logger-id must be a literal")
                out.append(
                    f"context.Log({json.dumps(logger)}, (string){self.value(child.get('partition-key'), here + '@partition-key')}, "
                    f"(string){self.value(child.text, here)});"
                )
            elif tag == "include-fragment":
                fragment_id = child.get("fragment-id")
                if fragment_id not in self.fragments:
                    raise ValueError(f"{here}: unknown fragment {fragment_id}")
                self.used_fragments.add(fragment_id)
                out.append(f"F_{ident(fragment_id)}(context);")
            else:
                raise ValueError(f"{here}: the harness does not model <{tag}>")
        return out


def ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def generate(policy_file: Path, fragment_files: list[Path]) -> str:
    gen = Generator()
    for path in fragment_files:
        root = ET.parse(path).getroot()
        if root.tag != "fragment":
            raise ValueError(f"{path.name}: root element is <{root.tag}>, not <fragment>")
        gen.fragments[path.stem] = root
    bodies = []
    for fragment_id, root in gen.fragments.items():
        stmts = "\n".join(gen.statements(root, f"{fragment_id}.xml"))
        bodies.append(f"static void F_{ident(fragment_id)}(Context context) {{\n{stmts}\n}}\n")
    policy = ET.parse(policy_file).getroot()
    for section in ("inbound", "backend", "outbound", "on-error"):
        element = policy.find(section)
        stmts = "\n".join(gen.statements(element, f"{policy_file.name}/{section}")) if element is not None else ""
        bodies.append(f"static void S_{ident(section)}(Context context) {{\n{stmts}\n}}\n")
    return RUNNER_TEMPLATE.replace("/*METHODS*/", "\n".join(gen.methods + bodies))


RUNNER_TEMPLATE = r"""
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using ApimHarness;

public static class Policies
{
/*METHODS*/

    public static void Main(string[] args)
    {
        foreach (string path in args)
        {
            var scenario = JsonConvert.DeserializeObject<JObject>(File.ReadAllText(path), new JsonSerializerSettings { DateParseHandling = DateParseHandling.None });
            var ctx = ScenarioLoader.Load(scenario, Path.GetDirectoryName(Path.GetFullPath(path)));
            string flow = (string)scenario["flow"] ?? "outbound";
            var result = new JObject(new JProperty("scenario", path));
            try
            {
                if (!(bool)(scenario["skip_inbound"] ?? false)) { S_inbound(ctx); }
                S_backend(ctx);
                if (flow == "outbound")
                {
                    S_outbound(ctx);
                    if ((bool)(scenario["error_after_outbound"] ?? false))
                    {
                        ctx.LastError = new LastError { Source = "set-header", Reason = "PolicyError", Message = "simulated", Section = "outbound" };
                        S_on_error(ctx);
                    }
                }
                else if (flow == "on-error")
                {
                    S_on_error(ctx);
                }
                else
                {
                    throw new ArgumentException("unknown flow " + flow);
                }
            }
            catch (Exception e)
            {
                result["exception"] = e.ToString();
            }
            result["events"] = new JArray(ctx.Events.Select(e => new JObject(
                new JProperty("logger", e.LoggerId),
                new JProperty("partition_key", e.PartitionKey),
                new JProperty("message", e.Message))));
            result["sent_body"] = ctx.Request.SentBody;
            var vars = new JObject();
            foreach (var kv in ctx.Variables) { vars[kv.Key] = JToken.FromObject(kv.Value); }
            result["variables"] = vars;
            Console.WriteLine(result.ToString(Formatting.None));
        }
    }
}
"""


def build(work: Path) -> Path:
    """Generate and compile the runner; return the path of the .exe."""
    work.mkdir(parents=True, exist_ok=True)
    fragments = sorted(p for p in POLICY_DIR.glob("*.xml") if ET.parse(p).getroot().tag == "fragment")
    source = generate(POLICY_DIR / "azure-openai-api.policy.xml", fragments)
    (work / "Policies.cs").write_text(source)
    shutil.copy(HERE / "harness" / "Context.cs", work / "Context.cs")
    newtonsoft = find_newtonsoft()
    shutil.copy(newtonsoft, work / "Newtonsoft.Json.dll")
    exe = work / "policies.exe"
    proc = subprocess.run(
        ["mcs", "-langversion:7", "-nowarn:0162,0168,0219", "-warnaserror-", f"-r:{work / 'Newtonsoft.Json.dll'}",
         f"-out:{exe}", str(work / "Context.cs"), str(work / "Policies.cs")],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError("mcs failed:\n" + proc.stdout + proc.stderr)
    return exe


def run(exe: Path, scenarios: list[Path]) -> list[dict]:
    proc = subprocess.run(["mono", str(exe), *map(str, scenarios)], capture_output=True, text=True,
                          env={**os.environ, "MONO_PATH": str(exe.parent)})
    if proc.returncode != 0:
        raise RuntimeError("harness failed:\n" + proc.stdout + proc.stderr)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
