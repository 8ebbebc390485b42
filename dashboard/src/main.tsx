import { render } from "preact";
import { App } from "./app";
import "./styles.css";
import { applyTheme, currentTheme } from "./theme";

applyTheme(currentTheme());
render(<App />, document.getElementById("app")!);
