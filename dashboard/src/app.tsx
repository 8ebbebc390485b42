// The shell: navigation, session (role), token entry, theme, keyboard help, and the page for the path.
import { useEffect, useState } from "preact/hooks";
import { type ApiError, loadSession, onUnauthenticated, type Session, setToken } from "./api";
import { SHORTCUTS, useKeys } from "./keys";
import { OverviewPage } from "./overview-page";
import { navigate, onLinkClick, useLocation } from "./router";
import { RunnersPage } from "./runners-page";
import { SchedulesPage } from "./schedules-page";
import { SessionContext } from "./session";
import { TaskPage } from "./task-page";
import { TasksPage } from "./tasks-page";
import { currentTheme, toggleTheme } from "./theme";
import { TokenDialog } from "./token-dialog";

const PAGES: [string, string, string][] = [
  ["/", "Overview", "o"],
  ["/tasks", "Tasks", "t"],
  ["/runners", "Runners", "r"],
  ["/schedules", "Schedules", "s"],
];

function Help({ close }: { close: () => void }) {
  return (
    <div class="overlay">
      <div class="dialog" data-help>
        <h2>Keyboard</h2>
        <table class="table compact">
          <tbody>
            {SHORTCUTS.map(([keys, what]) => (
              <tr>
                <td>
                  <kbd>{keys}</kbd>
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div class="dialog-actions">
          <button type="button" onClick={close}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}

export function App() {
  const loc = useLocation();
  const [session, setSession] = useState<Session>();
  const [needToken, setNeedToken] = useState<string>();
  const [generation, setGeneration] = useState(0);
  const [help, setHelp] = useState(false);
  const [theme, setTheme] = useState(currentTheme);
  const [pendingG, setPendingG] = useState(false);

  useEffect(() => {
    document.addEventListener("click", onLinkClick);
    return () => document.removeEventListener("click", onLinkClick);
  }, []);
  useEffect(() => onUnauthenticated((e: ApiError) => setNeedToken(e.reason || "UNAUTHENTICATED")), []);
  useEffect(() => {
    loadSession()
      .then(setSession)
      .catch(() => {});
  }, [generation]);

  useKeys((key) => {
    if (pendingG) {
      setPendingG(false);
      const page = PAGES.find(([, , k]) => k === key);
      if (page) navigate(page[0]);
      return Boolean(page);
    }
    if (key === "g") setPendingG(true);
    else if (key === "?") setHelp((h) => !h);
    else if (key === "Escape") setHelp(false);
    else if (key === "t") setTheme(toggleTheme());
    else return false;
    return true;
  });

  const taskMatch = /^\/tasks\/([^/]+)$/.exec(loc.path);
  const page = taskMatch ? (
    <TaskPage id={decodeURIComponent(taskMatch[1]!)} />
  ) : loc.path === "/tasks" ? (
    <TasksPage loc={loc} />
  ) : loc.path === "/runners" ? (
    <RunnersPage />
  ) : loc.path === "/schedules" ? (
    <SchedulesPage />
  ) : loc.path === "/" ? (
    <OverviewPage />
  ) : (
    <div class="page">
      <h1>Not here</h1>
      <p>
        No page at <code>{loc.path}</code>. <a href="/tasks">Tasks</a>
      </p>
    </div>
  );
  const section = taskMatch ? "/tasks" : loc.path;
  return (
    <SessionContext.Provider value={session}>
      <div class="shell">
        <header class="topbar">
          <a class="brand" href="/">
            Supervisor
          </a>
          <nav>
            {PAGES.map(([path, name, key]) => (
              <a href={path} class={section === path ? "current" : undefined} title={`g ${key}`}>
                {name}
              </a>
            ))}
          </nav>
          <span class="spacer" />
          {session ? (
            <span class={`role role-${session.role}`} data-role={session.role} title={`token "${session.name}"`}>
              {session.role}
              {session.role === "readonly" ? " (read-only)" : ""}
            </span>
          ) : null}
          {session?.authEnabled ? (
            <button
              type="button"
              class="link"
              onClick={() => {
                setToken(null);
                setSession(undefined);
                setNeedToken("signed out");
              }}
            >
              Forget token
            </button>
          ) : null}
          <button type="button" class="link" data-theme-toggle onClick={() => setTheme(toggleTheme())} title="t">
            {theme === "dark" ? "☀ light" : "☾ dark"}
          </button>
          <button type="button" class="link" onClick={() => setHelp(true)} title="?">
            ?
          </button>
        </header>
        <main key={generation}>{page}</main>
        {help ? <Help close={() => setHelp(false)} /> : null}
        {needToken ? (
          <TokenDialog
            reason={needToken}
            entered={() => {
              setNeedToken(undefined);
              setGeneration((n) => n + 1);
            }}
          />
        ) : null}
      </div>
    </SessionContext.Provider>
  );
}
