// Asked for when a call answers 401: the token is kept in sessionStorage (gone with the tab).
import { useState } from "preact/hooks";
import { getToken, setToken } from "./api";

export function TokenDialog({ reason, entered }: { reason: string; entered: () => void }) {
  const [value, setValue] = useState("");
  const hadToken = getToken() !== null;
  return (
    <div class="overlay">
      <form
        class="dialog"
        data-token-dialog
        onSubmit={(e) => {
          e.preventDefault();
          if (!value.trim()) return;
          setToken(value.trim());
          entered();
        }}
      >
        <h2>{hadToken ? "That token was refused" : "A token, please"}</h2>
        <p>
          This server asks for a bearer token ({reason}). It is kept in this tab's session storage only, and sent as{" "}
          <code>Authorization: Bearer …</code> to the API.
        </p>
        <input
          type="password"
          name="token"
          autocomplete="off"
          autofocus
          placeholder="token"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
        <div class="dialog-actions">
          <button type="submit">Use this token</button>
        </div>
      </form>
    </div>
  );
}
