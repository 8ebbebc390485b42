// A run's output, followed live (StreamTaskOutput with follow), ANSI colours by ansi_up as classes
// (the page's CSP allows no inline style), and the truncation marker where bytes were dropped.
import { AnsiUp } from "ansi_up";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ApiError, Json } from "./api";
import { query } from "./api";
import { ErrorBanner } from "./common";
import { openStream } from "./stream";

/**
 * ansi_up's HTML as nodes. Its bold, italic and 24-bit colours come as style attributes, which the page's
 * CSP refuses in markup; set through the CSSOM they are allowed, so they are moved there.
 */
function ansiNodes(html: string): DocumentFragment {
  const template = document.createElement("template");
  template.innerHTML = html; // ansi_up escapes the text: only its own <span>s are markup
  for (const element of template.content.querySelectorAll<HTMLElement>("[style]")) {
    const css = element.getAttribute("style") ?? "";
    element.removeAttribute("style");
    element.style.cssText = css;
  }
  return template.content;
}

const text = (value: string) => document.createTextNode(value);
const decodeBase64 = (data: string): Uint8Array => Uint8Array.from(atob(data), (c) => c.charCodeAt(0));

export function OutputView({ taskId, attempt, follow }: { taskId: string; attempt: number; follow: boolean }) {
  const pre = useRef<HTMLPreElement>(null);
  const [state, setState] = useState<"waiting" | "following" | "ended" | "none">("waiting");
  const [error, setError] = useState<ApiError | undefined>();

  useEffect(() => {
    const target = pre.current!;
    target.replaceChildren();
    setError(undefined);
    setState("waiting");
    const ansi = new AnsiUp();
    ansi.use_classes = true;
    const decoders = { out: new TextDecoder(), err: new TextDecoder() };
    const append = (content: Node, className?: string) => {
      const atBottom = target.scrollTop + target.clientHeight >= target.scrollHeight - 4;
      const span = document.createElement("span");
      if (className) span.className = className;
      span.append(content);
      target.append(span);
      if (atBottom) target.scrollTop = target.scrollHeight;
    };
    const path = `/v1/tasks/${encodeURIComponent(taskId)}/output${query({ attempt, follow: String(follow) })}`;
    return openStream(path, {
      message(event: Json) {
        setState(follow ? "following" : "ended");
        if (event.chunk) {
          const stderr = event.chunk.stream === "OUTPUT_STREAM_STDERR";
          const decoder = stderr ? decoders.err : decoders.out;
          const decoded = decoder.decode(decodeBase64(event.chunk.data ?? ""), { stream: true });
          append(ansiNodes(ansi.ansi_to_html(decoded)), stderr ? "stderr" : undefined);
        } else if (event.truncated) {
          const dropped = Number(event.truncated.droppedBytes ?? 0);
          append(text(`\n… ${dropped.toLocaleString()} bytes of output dropped here …\n`), "truncated");
        } else if (event.runStarted) {
          const run = event.runStarted.run ?? {};
          append(
            text(`── attempt ${run.attempt ?? "?"} started on ${run.runnerName ?? run.runnerId ?? "?"} ──\n`),
            "marker",
          );
        } else if (event.runFinished) {
          const run = event.runFinished.run ?? {};
          const exit = run.exitCode === undefined ? "" : `, exit ${run.exitCode}`;
          append(text(`── attempt ${run.attempt ?? "?"} ended: ${run.phase ?? ""}${exit} ──\n`), "marker");
        }
      },
      end: () => setState("ended"),
      error(e) {
        if (e.reason === "OUTPUT_NOT_FOUND") setState("none");
        else setError(e);
      },
    });
  }, [taskId, attempt, follow]);

  return (
    <div class="output-wrap">
      <div class="output-state" data-output-state={state}>
        {state === "none" ? "no output" : state}
      </div>
      <ErrorBanner error={error} what="Output" />
      <pre class="output" ref={pre} data-output />
    </div>
  );
}
