// Light or dark: the system's choice (prefers-color-scheme) until the user picks one, kept in localStorage.
const THEME_KEY = "supervisor.theme";

export type Theme = "light" | "dark";

const systemTheme = (): Theme => (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");

export function currentTheme(): Theme {
  const chosen = localStorage.getItem(THEME_KEY);
  return chosen === "light" || chosen === "dark" ? chosen : systemTheme();
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
}

export function toggleTheme(): Theme {
  const next: Theme = currentTheme() === "dark" ? "light" : "dark";
  localStorage.setItem(THEME_KEY, next);
  applyTheme(next);
  return next;
}
