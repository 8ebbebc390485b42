// Command scenario is the SDK conformance scenario (docs/sdk-conformance.md) for the Go SDK.
// Run: SUPERVISOR_ADDR=host:port scenario — one line per fact; exit 1 on a failed step.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/supervisor/supervisor/sdk-go/supervisor"

	v1 "github.com/supervisor/supervisor/sdk-go/gen/supervisor/v1"
)

const lang = "go"

var selector = "scenario=" + lang

func say(format string, args ...interface{}) { fmt.Printf(format+"\n", args...) }

func check(ok bool, what string) {
	if !ok {
		fmt.Fprintf(os.Stderr, "FAILED: %s\n", what)
		os.Exit(1)
	}
}

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAILED: %s: %v\n", what, err)
		os.Exit(1)
	}
}

func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func mustStruct(fields map[string]interface{}) *structpb.Struct {
	value, err := structpb.NewStruct(fields)
	must(err, "struct")
	return value
}

func waitingTask() *v1.TaskSpec {
	return &v1.TaskSpec{
		Exec:           &v1.TaskSpec_Subprocess{Subprocess: &v1.SubprocessExec{Command: "true"}},
		Labels:         map[string]string{"scenario": lang},
		RunnerSelector: &v1.RunnerSelector{MatchLabels: map[string]string{"absent": "yes"}},
	}
}

// addedIDs reads the watch until `until` is ADDED; it returns every ADDED id seen on the way.
func addedIDs(watch *supervisor.Watch, until string) []string {
	var seen []string
	for {
		event, err := watch.Next()
		must(err, "watch")
		if event.GetType() != v1.EventType_EVENT_TYPE_ADDED {
			continue
		}
		seen = append(seen, event.GetTask().GetId())
		if event.GetTask().GetId() == until {
			return seen
		}
	}
}

func main() {
	ctx := context.Background()
	client, err := supervisor.Dial("", supervisor.Options{})
	must(err, "dial")
	defer client.Close()

	requestIDs := []string{uuid4(), uuid4(), uuid4()}
	var ids []string
	for _, requestID := range requestIDs {
		task, err := client.Submit(ctx, waitingTask(), requestID)
		must(err, "submit")
		ids = append(ids, task.GetId())
	}
	for _, id := range ids {
		say("submitted %s", id)
	}
	again, err := client.Submit(ctx, waitingTask(), requestIDs[0])
	must(err, "submit again")
	check(again.GetId() == ids[0], "a repeated request id returns the original task")
	say("idempotent %s", again.GetId())

	filter := &v1.TaskFilter{LabelSelector: selector}
	first, err := client.ListPage(ctx, &v1.ListTasksRequest{Filter: filter, PageSize: 2})
	must(err, "page 1")
	next := &v1.ListTasksRequest{Filter: filter, PageSize: 2, PageToken: first.GetNextPageToken()}
	second, err := client.ListPage(ctx, next)
	must(err, "page 2")
	check(second.GetNextPageToken() == "", "two pages hold the three tasks")
	say("page 1: %d", len(first.GetTasks()))
	say("page 2: %d", len(second.GetTasks()))
	var listed []string
	must(client.List(ctx, filter, 2, func(task *v1.Task) error {
		listed = append(listed, task.GetId())
		return nil
	}), "list")
	say("listed %s", strings.Join(listed, " "))

	watch := client.Watch(ctx, &v1.WatchTasksRequest{Filter: filter, SinceRevision: first.GetRevision()})
	fourth, err := client.Submit(ctx, waitingTask(), "")
	must(err, "submit 4")
	for _, id := range addedIDs(watch, fourth.GetId()) {
		say("event ADDED %s", id)
	}
	say("drop-now")
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	check(strings.TrimSpace(line) == "dropped", "the test says it dropped the connections")
	fifth, err := client.Submit(ctx, waitingTask(), "")
	must(err, "submit 5")
	for _, id := range addedIDs(watch, fifth.GetId()) {
		say("event ADDED %s", id)
	}
	watch.Close()

	for i := 0; i < 2; i++ {
		task, err := client.Cancel(ctx, ids[0], "conformance")
		must(err, "cancel")
		say("canceled %s %s", task.GetId(), task.GetStatus().GetPhase())
	}

	bad := &v1.TaskSpec{Exec: &v1.TaskSpec_Subprocess{Subprocess: &v1.SubprocessExec{}}}
	_, err = client.Submit(ctx, bad, "")
	check(err != nil, "an empty command is refused")
	invalid := supervisor.AsError(err)
	var fields []string
	for _, violation := range invalid.FieldViolations {
		fields = append(fields, violation.Field)
	}
	say("invalid %s %s %s", invalid.CodeName(), invalid.Reason, strings.Join(fields, ","))
	_, err = client.Get(ctx, uuid4())
	check(err != nil, "an unknown id is not found")
	notFound := supervisor.AsError(err)
	say("not-found %s %s", notFound.CodeName(), notFound.Reason)

	runner := supervisor.NewRunner(client, supervisor.RunnerOptions{
		Name: "scenario-" + lang, Capacity: 2, Logf: func(string, ...interface{}) {},
	})
	runner.Handle("scenario.echo", func(
		ctx context.Context, payload map[string]interface{}, run *supervisor.RunContext,
	) (interface{}, error) {
		run.Log(fmt.Sprintf("hello %v", payload["word"]))
		return map[string]interface{}{"echo": payload["word"], "lang": lang}, nil
	})
	startCtx, cancelStart := context.WithTimeout(ctx, 30*time.Second)
	_, err = runner.Start(startCtx)
	cancelStart()
	must(err, "runner start")
	echo := &v1.TaskSpec{
		Exec: &v1.TaskSpec_Embedded{Embedded: &v1.EmbeddedExec{
			Handler: "scenario.echo", Payload: mustStruct(map[string]interface{}{"word": "conformance"}),
		}},
		Labels: map[string]string{"scenario": lang},
	}
	task, err := client.Submit(ctx, echo, "")
	must(err, "submit embedded")
	done, err := client.WaitFor(ctx, task.GetId())
	must(err, "wait for")
	runs, err := client.ListRuns(ctx, task.GetId())
	must(err, "list runs")
	result, err := json.Marshal(runs[len(runs)-1].GetResult().AsMap()) // encoding/json sorts map keys
	must(err, "result")
	say("runner %s %s", done.GetStatus().GetPhase(), result)
	output, err := client.Output(ctx, task.GetId(), 0, false)
	must(err, "output")
	var text strings.Builder
	for {
		event, err := output.Recv()
		if err == io.EOF {
			break
		}
		must(err, "output stream")
		text.Write(event.GetChunk().GetData())
	}
	say("output %s", strings.TrimSpace(text.String()))
	runner.Stop()
	say("done")
}
