// A stand-in for API Management's policy `context`, with the members the chargeback fragments
// use and the behaviour the gateway documents for them (api-management-policy-expressions):
// headers and query parameters joined with commas, variables that throw on a type mismatch,
// bodies that can be read once unless preserveContent is true. policy_harness.py compiles the
// fragments' expressions against it with Mono and runs them on the scenarios in ../scenarios.
//
// It is a test double, not APIM: it cannot prove the gateway accepts an expression (the
// allow-list check in check_policies.py covers the types used), only that the expressions
// compile as C# and produce schema-valid events from realistic inputs.

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ApimHarness
{
    public class Url
    {
        public string Scheme;
        public string Host;
        public int Port;
        public string Path;
        public IReadOnlyDictionary<string, string[]> Query;
        public string QueryString;

        public static Url Parse(string text)
        {
            var uri = new Uri(text);
            var query = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in uri.Query.TrimStart('?').Split(new[] { '&' }, StringSplitOptions.RemoveEmptyEntries))
            {
                var kv = pair.Split(new[] { '=' }, 2);
                string key = Uri.UnescapeDataString(kv[0]);
                string value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "";
                string[] existing;
                query[key] = query.TryGetValue(key, out existing) ? existing.Concat(new[] { value }).ToArray() : new[] { value };
            }
            return new Url
            {
                Scheme = uri.Scheme,
                Host = uri.Host,
                Port = uri.Port,
                Path = uri.AbsolutePath,
                Query = query,
                QueryString = uri.Query,
            };
        }
    }

    public class MessageBody
    {
        private string content;
        private bool consumed;

        public MessageBody(string content) { this.content = content; }

        public T As<T>(bool preserveContent = false)
        {
            if (consumed) { throw new InvalidOperationException("body already read without preserveContent"); }
            if (!preserveContent) { consumed = true; }
            object result;
            if (typeof(T) == typeof(string)) { result = content; }
            else if (typeof(T) == typeof(JObject)) { result = JObject.Parse(content); }
            else if (typeof(T) == typeof(JArray)) { result = JArray.Parse(content); }
            else if (typeof(T) == typeof(JToken)) { result = JToken.Parse(content); }
            else if (typeof(T) == typeof(byte[])) { result = System.Text.Encoding.UTF8.GetBytes(content); }
            else { throw new NotSupportedException("As<" + typeof(T).Name + "> is not supported by the harness"); }
            return (T)result;
        }
    }

    public class Request
    {
        public string Method;
        public IReadOnlyDictionary<string, string[]> Headers;
        public string IpAddress = "203.0.113.10";
        public IReadOnlyDictionary<string, string> MatchedParameters;
        public Url OriginalUrl;
        public Url Url;
        public MessageBody Body;
        // What the backend would receive: the body after set-body, if any.
        public string SentBody;

        public void SetBody(string body)
        {
            SentBody = body;
            Body = new MessageBody(body);
        }
    }

    public class Response
    {
        public int StatusCode;
        public string StatusReason = "";
        public IReadOnlyDictionary<string, string[]> Headers;
        public MessageBody Body;
    }

    public class Subscription
    {
        public string Id;
        public string Name;
        public string Key = "SUBSCRIPTION-KEY-MUST-NEVER-BE-LOGGED";
        public string PrimaryKey = "SUBSCRIPTION-KEY-MUST-NEVER-BE-LOGGED";
        public string SecondaryKey = "SUBSCRIPTION-KEY-MUST-NEVER-BE-LOGGED";
    }

    public class Named
    {
        public string Id;
        public string Name;
    }

    public class LastError
    {
        public string Source;
        public string Reason;
        public string Message;
        public string Scope;
        public string Section;
        public string Path;
        public string PolicyId;
    }

    public class Logged
    {
        public string LoggerId;
        public string PartitionKey;
        public string Message;
    }

    public class Context
    {
        public Guid RequestId;
        public DateTime Timestamp;
        public Request Request;
        public Response Response;
        public Subscription Subscription;
        public Named Product;
        public Named Api;
        public Named Operation;
        public LastError LastError;
        private readonly Dictionary<string, object> variables = new Dictionary<string, object>();
        public IReadOnlyDictionary<string, object> Variables { get { return variables; } }
        public readonly List<Logged> Events = new List<Logged>();

        public void SetVariable(string name, object value)
        {
            // set-variable accepts only basic types (set-variable-policy); the fragments use two.
            if (!(value is string || value is bool)) {
                throw new InvalidOperationException("set-variable " + name + ": type " + (value == null ? "null" : value.GetType().Name) + " is not used by the fragments");
            }
            variables[name] = value;
        }

        public void Log(string loggerId, string partitionKey, string message)
        {
            Events.Add(new Logged { LoggerId = loggerId, PartitionKey = partitionKey, Message = message });
        }
    }

    public static class PolicyExtensions
    {
        public static string GetValueOrDefault(this IReadOnlyDictionary<string, string[]> values, string name, string defaultValue)
        {
            string[] found;
            return values != null && values.TryGetValue(name, out found) ? string.Join(",", found) : defaultValue;
        }

        public static string GetValueOrDefault(this IReadOnlyDictionary<string, string> values, string name, string defaultValue)
        {
            string found;
            return values != null && values.TryGetValue(name, out found) ? found : defaultValue;
        }

        public static T GetValueOrDefault<T>(this IReadOnlyDictionary<string, object> values, string name, T defaultValue)
        {
            object found;
            if (!values.TryGetValue(name, out found)) { return defaultValue; }
            return (T)found; // throws InvalidCastException on a type mismatch, as APIM does
        }

        public static bool Truthy(object value)
        {
            if (value is bool) { return (bool)value; }
            throw new InvalidOperationException("a condition returned " + (value == null ? "null" : value.GetType().Name));
        }
    }

    public static class ScenarioLoader
    {
        static IReadOnlyDictionary<string, string[]> Headers(JObject headers)
        {
            var result = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
            if (headers != null)
            {
                foreach (var p in headers.Properties()) { result[p.Name] = new[] { (string)p.Value }; }
            }
            return result;
        }

        static string BodyText(JObject part, string baseDir)
        {
            if (part == null) { return null; }
            if (part["body_file"] != null) { return File.ReadAllText(Path.Combine(baseDir, (string)part["body_file"])); }
            if (part["body_text"] != null) { return (string)part["body_text"]; }
            if (part["body"] != null && part["body"].Type != JTokenType.Null) { return part["body"].ToString(Formatting.None); }
            return null;
        }

        public static Context Load(JObject s, string baseDir)
        {
            var ctx = new Context();
            ctx.RequestId = Guid.Parse((string)s["request_id"]);
            ctx.Timestamp = DateTime.SpecifyKind(DateTime.Parse((string)s["timestamp"], null, System.Globalization.DateTimeStyles.RoundtripKind).ToUniversalTime(), DateTimeKind.Utc);
            var sub = s["subscription"] as JObject;
            if (sub != null) { ctx.Subscription = new Subscription { Id = (string)sub["id"], Name = (string)sub["name"] }; }
            if (s["product"] != null && s["product"].Type != JTokenType.Null) { ctx.Product = new Named { Id = (string)s["product"], Name = (string)s["product"] }; }
            if (s["api"] != null && s["api"].Type != JTokenType.Null) { ctx.Api = new Named { Id = (string)s["api"], Name = (string)s["api"] }; }
            if (s["operation"] != null && s["operation"].Type != JTokenType.Null) { ctx.Operation = new Named { Id = (string)s["operation"], Name = (string)s["operation"] }; }

            var req = (JObject)s["request"];
            var matched = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var m = req["matched"] as JObject;
            if (m != null) { foreach (var p in m.Properties()) { matched[p.Name] = (string)p.Value; } }
            string reqBody = BodyText(req, baseDir);
            ctx.Request = new Request
            {
                Method = (string)req["method"],
                Headers = Headers(req["headers"] as JObject),
                MatchedParameters = matched,
                OriginalUrl = Url.Parse((string)req["url"]),
                Url = Url.Parse((string)(req["backend_url"] ?? req["url"])),
                Body = reqBody == null ? null : new MessageBody(reqBody),
            };

            var resp = s["response"] as JObject;
            if (resp != null)
            {
                string respBody = BodyText(resp, baseDir);
                ctx.Response = new Response
                {
                    StatusCode = (int)resp["status"],
                    Headers = Headers(resp["headers"] as JObject),
                    Body = respBody == null ? null : new MessageBody(respBody),
                };
            }

            var err = s["last_error"] as JObject;
            if (err != null)
            {
                ctx.LastError = new LastError { Source = (string)err["source"], Reason = (string)err["reason"], Message = (string)err["message"], Section = (string)err["section"] };
            }

            var vars = s["variables"] as JObject;
            if (vars != null) { foreach (var p in vars.Properties()) { ctx.SetVariable(p.Name, p.Value.Type == JTokenType.Boolean ? (object)(bool)p.Value : (string)p.Value); } }
            return ctx;
        }
    }
}
