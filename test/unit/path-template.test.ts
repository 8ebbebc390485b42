import { describe, expect, it } from "vitest";
import { matchPath, parseTemplate } from "../../server/src/http/path-template.js";

const match = (template: string, path: string) => {
  const bindings = matchPath(parseTemplate(template), path);
  return bindings && Object.fromEntries(bindings);
};

describe("google.api.http path templates", () => {
  it("binds {field} to one percent-decoded segment, nested fields by their dotted path", () => {
    expect(match("/v1/tasks/{id}", "/v1/tasks/abc")).toEqual({ id: "abc" });
    expect(match("/v1/tasks/{id}", "/v1/tasks/a%20b%2Fc")).toEqual({ id: "a b/c" });
    expect(match("/v1/schedules/{schedule.id}", "/v1/schedules/nightly")).toEqual({ "schedule.id": "nightly" });
    expect(match("/v1/tasks/{task_id}/runs", "/v1/tasks/x/runs")).toEqual({ task_id: "x" });
  });

  it("does not match other lengths, other literals, empty segments or malformed escapes", () => {
    expect(match("/v1/tasks/{id}", "/v1/tasks")).toBeUndefined();
    expect(match("/v1/tasks/{id}", "/v1/tasks/")).toBeUndefined();
    expect(match("/v1/tasks/{id}", "/v1/tasks/a/b")).toBeUndefined();
    expect(match("/v1/tasks/{id}", "/v2/tasks/a")).toBeUndefined();
    expect(match("/v1/tasks/{id}", "/v1/tasks/%zz")).toBeUndefined();
    expect(match("/v1/tasks", "v1/tasks")).toBeUndefined();
  });

  it("a verb must be there, and only a template with the verb takes it", () => {
    expect(match("/v1/tasks/{id}:cancel", "/v1/tasks/abc:cancel")).toEqual({ id: "abc" });
    expect(match("/v1/tasks/{id}:cancel", "/v1/tasks/abc")).toBeUndefined();
    expect(match("/v1/tasks:watch", "/v1/tasks:watch")).toEqual({});
    expect(match("/v1/tasks:watch", "/v1/tasks")).toBeUndefined();
    expect(parseTemplate("/v1/tasks:batchSubmit").verb).toBe("batchSubmit");
  });

  it("{name=a/*} and ** bind several segments; * and ** outside variables match without binding", () => {
    expect(match("/v1/{name=shelves/*}", "/v1/shelves/s1")).toEqual({ name: "shelves/s1" });
    expect(match("/v1/{name=shelves/*}", "/v1/books/s1")).toBeUndefined();
    expect(match("/v1/{path=**}", "/v1/a/b/c")).toEqual({ path: "a/b/c" });
    expect(match("/v1/*/x", "/v1/anything/x")).toEqual({});
    expect(match("/v1/**", "/v1")).toEqual({});
  });

  it("refuses what the grammar does not allow", () => {
    for (const bad of ["v1/tasks", "/v1/{id", "/v1/{a.}", "/v1/**/x", "/v1/{id}/{id}", "/v1/ta sks", "/v1/x:"]) {
      expect(() => parseTemplate(bad), bad).toThrow(/path template/);
    }
  });
});
