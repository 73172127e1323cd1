// The binding: the only file that knows Node. It copies the validated spec
// into native structs once, runs the tracer on its own thread, and hands
// events back in batches through a thread-safe function.
#include <napi.h>

#include <csignal>
#include <fcntl.h>
#include <future>
#include <pthread.h>
#include <stdexcept>
#include <thread>

#include "recorder.h"
#include "resolver.h"
#include "rules.h"
#include "tracer.h"

namespace catbox {
namespace {

struct Message {
  enum class Kind { Wake, Sync, ChildInitialized, Done } kind;
  pid_t pid = 0;
  pid_t ppid = 0;
  std::promise<void>* ack = nullptr;
};

struct Job {
  Spec spec;
  Recorder recorder;
  Napi::ThreadSafeFunction tsfn;
  Napi::Promise::Deferred deferred;
  Napi::FunctionReference on_events;
  Napi::FunctionReference on_child_initialized;
  std::thread thread;
  Outcome outcome;

  explicit Job(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

std::string get_string(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("spec.") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<std::string> get_strings(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string("spec.") + key + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value item = a.Get(i);
    if (!item.IsString())
      throw Napi::TypeError::New(o.Env(), std::string("spec.") + key + " must be an array of strings");
    out.push_back(item.As<Napi::String>().Utf8Value());
  }
  return out;
}

RuleSet get_rules(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of rules");
  Napi::Array a = v.As<Napi::Array>();
  RuleSet set;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value item = a.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of rules");
    Napi::Object r = item.As<Napi::Object>();
    std::string kind = get_string(r, "kind");
    std::string pattern = get_string(r, "pattern");
    Rule::Kind k;
    if (kind == "prefix") {
      k = Rule::Kind::Prefix;
    } else if (kind == "glob") {
      k = Rule::Kind::Glob;
    } else if (kind == "pcre") {
      k = Rule::Kind::Pcre;
    } else {
      throw Napi::TypeError::New(env, "unknown rule kind: " + kind);
    }
    try {
      set.add(Rule(k, pattern));
    } catch (const std::runtime_error& e) {
      throw Napi::Error::New(env, e.what());
    }
  }
  return set;
}

Spec get_spec(Napi::Object o) {
  Napi::Env env = o.Env();
  Spec s;
  s.file = get_string(o, "file");
  s.argv = get_strings(o, "argv");
  s.env = get_strings(o, "env");
  s.cwd = get_string(o, "cwd");
  if (s.argv.empty()) throw Napi::TypeError::New(env, "spec.argv must not be empty");
  s.policy.writable = get_rules(env, o.Get("writable"), "spec.writable");
  s.policy.devices = get_rules(env, o.Get("devices"), "spec.devices");
  // Device nodes are judged by the device they name: the implicit devices'
  // numbers, and those of a node a prefix rule names exactly.
  for (const char* key : {"devices", "writable"}) {
    Napi::Array rules = o.Get(key).As<Napi::Array>();
    for (uint32_t i = 0; i < rules.Length(); i++) {
      Napi::Object r = rules.Get(i).As<Napi::Object>();
      if (get_string(r, "kind") == "prefix") allow_device_node(&s.policy, get_string(r, "pattern"));
    }
  }
  s.policy.collect_only = o.Get("collectOnly").ToBoolean();
  std::string net = get_string(o, "network");
  if (net == "full") {
    s.policy.network = Network::Full;
  } else if (net == "loopback") {
    s.policy.network = Network::Loopback;
  } else if (net == "none") {
    s.policy.network = Network::None;
  } else {
    throw Napi::TypeError::New(env, "spec.network must be full, loopback or none");
  }
  s.hook_child_initialized = o.Get("hookChildInitialized").ToBoolean();
  s.sync_violations = o.Get("syncViolations").ToBoolean();
  Napi::Value events = o.Get("violationEvents");
  if (events.IsNumber()) s.violation_events = events.As<Napi::Number>().Int64Value();
  s.user_notif = !o.Get("ptraceOnly").ToBoolean();
  s.follow_processes = o.Get("followProcesses").ToBoolean();
  Napi::Value trace = o.Get("trace");
  if (trace.IsObject()) {
    Napi::Object t = trace.As<Napi::Object>();
    s.trace.exec = t.Get("exec").ToBoolean();
    s.trace.read = t.Get("read").ToBoolean();
    s.trace.write = t.Get("write").ToBoolean();
  }
  Napi::Value fake = o.Get("fakeRoot");
  if (fake.IsObject()) {
    Napi::Object f = fake.As<Napi::Object>();
    s.fake_root = true;
    s.fake_uid = f.Get("uid").ToNumber().Uint32Value();
    s.fake_gid = f.Get("gid").ToNumber().Uint32Value();
    s.owner_db = get_string(f, "db");
    if (s.owner_db.empty() || s.owner_db[0] != '/')
      throw Napi::TypeError::New(env, "spec.fakeRoot.db must be an absolute path");
  }
  Napi::Value view = o.Get("guestView");
  if (view.IsObject()) {
    // {upper?: {dir, whiteouts}, merged, maps: [{host, guest, rw}]}: every path absolute and canonical.
    Napi::Object v = view.As<Napi::Object>();
    auto absolute = [&](const std::string& p, const char* what) {
      if (p.empty() || p[0] != '/')
        throw Napi::TypeError::New(env, std::string("spec.guestView.") + what + " must be an absolute path");
      return p;
    };
    s.guest_view = true;
    s.overlay.merged_dir = absolute(get_string(v, "merged"), "merged");
    Napi::Value upper = v.Get("upper");
    if (upper.IsObject()) {
      Napi::Object u = upper.As<Napi::Object>();
      s.overlay.upper = true;
      s.overlay.upper_dir = absolute(get_string(u, "dir"), "upper.dir");
      s.overlay.whiteouts = absolute(get_string(u, "whiteouts"), "upper.whiteouts");
    }
    Napi::Value maps = v.Get("maps");
    if (maps.IsArray()) {
      Napi::Array a = maps.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Object m = a.Get(i).As<Napi::Object>();
        PathMap pm;
        pm.host = absolute(get_string(m, "host"), "maps[].host");
        pm.guest = absolute(get_string(m, "guest"), "maps[].guest");
        if (pm.guest == "/") throw Napi::TypeError::New(env, "spec.guestView.maps[].guest must not be /");
        pm.rw = m.Get("rw").ToBoolean();
        s.overlay.maps.push_back(pm);
      }
    }
  }
  if (s.trace.any()) {
    s.event_log = get_string(o, "eventLog");
    if (s.event_log.empty() || s.event_log[0] != '/')
      throw Napi::TypeError::New(env, "spec.eventLog must be an absolute path when tracing");
  }
  return s;
}

Napi::Object event_to_js(Napi::Env env, const Event& e) {
  Napi::Object o = Napi::Object::New(env);
  switch (e.type) {
    case Event::Type::Start:
      o.Set("type", "start");
      o.Set("pid", e.pid);
      break;
    case Event::Type::Violation:
      o.Set("type", "violation");
      o.Set("operation", e.operation);
      o.Set("path", e.path);
      o.Set("canonical", e.canonical);
      o.Set("pid", e.pid);
      o.Set("program", e.program);
      o.Set("denied", e.denied);
      o.Set("errno", e.err);
      break;
    case Event::Type::ChildInitialized:
      o.Set("type", "childInitialized");
      o.Set("pid", e.pid);
      o.Set("ppid", e.ppid);
      break;
    case Event::Type::ChildDied:
      o.Set("type", "childDiedUnexpectedly");
      o.Set("pid", e.pid);
      o.Set("signal", e.signal);
      break;
    case Event::Type::Exec:
      o.Set("type", "exec");
      o.Set("pid", e.pid);
      o.Set("path", e.path);
      break;
  }
  return o;
}

void deliver_events(Napi::Env env, Job* job) {
  std::vector<Event> events = job->recorder.drain();
  if (events.empty() || job->on_events.IsEmpty()) return;
  Napi::Array a = Napi::Array::New(env, events.size());
  for (size_t i = 0; i < events.size(); i++) a.Set(static_cast<uint32_t>(i), event_to_js(env, events[i]));
  try {
    job->on_events.Call({a});
  } catch (const Napi::Error& e) {
    // A throwing callback must not stop the run; the error surfaces in JS.
    e.Value();
  }
}

Napi::Object outcome_to_js(Napi::Env env, const Outcome& out) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("exitCode", out.exit_code);
  r.Set("signal", out.signal ? Napi::Value::From(env, out.signal) : env.Null());
  Napi::Object st = Napi::Object::New(env);
  st.Set("processes", static_cast<double>(out.stats.processes));
  st.Set("seccompStops", static_cast<double>(out.stats.seccomp_stops));
  st.Set("notifications", static_cast<double>(out.stats.notifications));
  st.Set("eventStops", static_cast<double>(out.stats.event_stops));
  st.Set("exitStops", static_cast<double>(out.stats.exit_stops));
  st.Set("signalsForwarded", static_cast<double>(out.stats.signals_forwarded));
  st.Set("violations", static_cast<double>(out.stats.violations));
  st.Set("logLines", static_cast<double>(out.stats.log_lines));
  st.Set("copyUps", static_cast<double>(out.stats.copy_ups));
  st.Set("whiteouts", static_cast<double>(out.stats.whiteouts));
  st.Set("mergedViews", static_cast<double>(out.stats.merged_views));
  r.Set("stats", st);
  return r;
}

void call_js(Napi::Env env, Napi::Function, Job* job, Message* msg) {
  std::unique_ptr<Message> m(msg);
  if (env == nullptr) {     // the environment is going away
    job->recorder.drain();  // nobody will take them: let the tracer go on
    if (m->ack) m->ack->set_value();
    return;
  }
  Napi::HandleScope scope(env);
  deliver_events(env, job);
  switch (m->kind) {
    case Message::Kind::Wake: break;
    case Message::Kind::Sync: m->ack->set_value(); break;
    case Message::Kind::ChildInitialized:
      if (!job->on_child_initialized.IsEmpty()) {
        try {
          job->on_child_initialized.Call({Napi::Number::New(env, m->pid), Napi::Number::New(env, m->ppid)});
        } catch (const Napi::Error&) {
        }
      }
      m->ack->set_value();
      break;
    case Message::Kind::Done:
      if (!job->outcome.error.empty()) {
        job->deferred.Reject(
            Napi::Error::New(env, "catbox: could not start the command: " + job->outcome.error).Value());
      } else {
        job->deferred.Resolve(outcome_to_js(env, job->outcome));
      }
      break;
  }
}

using Tsfn = Napi::TypedThreadSafeFunction<Job, Message, call_js>;

void tracer_thread(Job* job, Tsfn tsfn) {
  // Node's signal handlers stay on the main thread; the tracer takes none.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);

  ChildInitialized hook;
  if (job->spec.hook_child_initialized) {
    hook = [&tsfn](pid_t pid, pid_t ppid) {
      std::promise<void> done;
      auto* m = new Message{Message::Kind::ChildInitialized, pid, ppid, &done};
      if (tsfn.BlockingCall(m) != napi_ok) {
        delete m;
        return;
      }
      done.get_future().wait();
    };
  }
  if (job->spec.sync_violations) {
    job->recorder.set_sync([&tsfn]() {
      std::promise<void> done;
      auto* m = new Message{Message::Kind::Sync, 0, 0, &done};
      if (tsfn.BlockingCall(m) != napi_ok) {
        delete m;
        return;
      }
      done.get_future().wait();
    });
  }
  job->outcome = trace_run(job->spec, job->recorder, hook);
  tsfn.BlockingCall(new Message{Message::Kind::Done});
  tsfn.Release();
}

Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "run(spec, onEvents[, onChildInitialized])");
  auto job = std::make_unique<Job>(env);
  job->spec = get_spec(info[0].As<Napi::Object>());
  job->on_events = Napi::Persistent(info[1].As<Napi::Function>());
  if (info.Length() > 2 && info[2].IsFunction())
    job->on_child_initialized = Napi::Persistent(info[2].As<Napi::Function>());
  Napi::Promise promise = job->deferred.Promise();

  Job* raw = job.release();
  Tsfn tsfn = Tsfn::New(env, "catbox-tracer", 0, 1, raw, [](Napi::Env, void*, Job* j) {
    if (j->thread.joinable()) j->thread.join();
    delete j;
  });
  raw->recorder.set_wake([tsfn]() mutable { tsfn.BlockingCall(new Message{Message::Kind::Wake}); });
  raw->thread = std::thread(tracer_thread, raw, tsfn);
  return promise;
}

Napi::Value CheckPcre(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "checkPcre(pattern)");
  size_t offset = 0;
  std::string msg = check_pcre(info[0].As<Napi::String>().Utf8Value(), &offset);
  if (msg.empty()) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("message", msg);
  o.Set("offset", static_cast<double>(offset));
  return o;
}

Napi::Value MatchRules(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsString()) throw Napi::TypeError::New(env, "matchRules(rules, path)");
  RuleSet set = get_rules(env, info[0], "rules");
  return Napi::Boolean::New(env, set.matches(info[1].As<Napi::String>().Utf8Value()));
}

Napi::Value ResolvePath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsString())
    throw Napi::TypeError::New(env, "resolvePath(pid, dirfd, path, follow)");
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  Tracee t{pid, pid};
  Resolved r = resolve_path(t, info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::String>().Utf8Value(),
                            info[3].ToBoolean());
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", r.path);
  o.Set("error", r.error);
  o.Set("exists", r.exists);
  o.Set("anon", r.anon);
  o.Set("reopensWritableFd", r.reopened_fd_flags >= 0 && (r.reopened_fd_flags & O_ACCMODE) != O_RDONLY);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("run", Napi::Function::New(env, Run));
  exports.Set("checkPcre", Napi::Function::New(env, CheckPcre));
  exports.Set("matchRules", Napi::Function::New(env, MatchRules));
  exports.Set("resolvePath", Napi::Function::New(env, ResolvePath));
  exports.Set("hasPcre2", Napi::Boolean::New(env, have_pcre2()));
  return exports;
}

}  // namespace
}  // namespace catbox

static Napi::Object InitCatbox(Napi::Env env, Napi::Object exports) { return catbox::Init(env, exports); }

NODE_API_MODULE(catbox_native, InitCatbox)
