package supervisor

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	v1 "github.com/supervisor/supervisor/sdk-go/gen/supervisor/v1"
)

// Handler runs one embedded task: payload is the task's embedded.payload; what it returns (a map, or
// any JSON value, kept as {"value": …}) is the run's result, and an error fails the run. ctx ends on
// cancel and at the run's deadline: return soon after.
type Handler func(ctx context.Context, payload map[string]interface{}, run *RunContext) (interface{}, error)

// RunContext is what a handler knows about its run.
type RunContext struct {
	RunID    string
	TaskID   string
	Attempt  int32
	Deadline time.Time
	log      func(string)
}

// Log writes line and a newline to the run's stdout.
func (r *RunContext) Log(line string) { r.log(line) }

// RunnerOptions configure a Runner; Name is required.
type RunnerOptions struct {
	Name     string
	Labels   map[string]string
	Capacity int32 // default 1
	Version  string
	// Reconnect backoff (default 250 ms doubling to 10 s, full jitter).
	Reconnect *RetryPolicy
	// GracePeriod: how long a stopped handler may take before it is abandoned (default 10 s).
	GracePeriod time.Duration
	// AckWait: how long Stop waits for the supervisor to acknowledge ended runs (default 10 s).
	AckWait time.Duration
	Logf    func(format string, args ...interface{})
}

type localRun struct {
	assign   *v1.ConnectResponse_Assign
	cancel   context.CancelFunc
	canceled bool
	grace    time.Duration
	seq      int64
	offset   int64
	pending  []*v1.ConnectRequest_Output // sent, not yet acknowledged
	finished *v1.ConnectRequest_RunFinished
}

// Runner executes embedded tasks with the handlers registered on it, over RunnerService.Connect,
// as the TypeScript and Python runners do: hello → welcome, then assigns, cancels and acks; every
// report is kept until acknowledged and sent again after a reconnect; heartbeats on their own
// goroutine. Python-style decorators are Handle calls here.
type Runner struct {
	client     *Client
	options    RunnerOptions
	instanceID string
	handlers   map[string]Handler
	mu         sync.Mutex
	changed    *sync.Cond
	runs       map[string]*localRun
	outbox     chan *v1.ConnectRequest // the live session's, nil between sessions
	stopping   context.Context
	stop       context.CancelFunc
	welcomed   chan struct{}
	closed     chan struct{}
	// RunnerID is the id the supervisor gave this runner (after the first welcome).
	RunnerID string
	// Fatal is the refusal that stopped it (name in use, a bad token), if any.
	Fatal *Error
}

// NewRunner makes a runner that talks through client's connection.
func NewRunner(client *Client, options RunnerOptions) *Runner {
	if options.Capacity == 0 {
		options.Capacity = 1
	}
	if options.Reconnect == nil {
		options.Reconnect = &RetryPolicy{InitialDelay: 250 * time.Millisecond, MaxDelay: 10 * time.Second, Multiplier: 2}
	}
	if options.GracePeriod == 0 {
		options.GracePeriod = 10 * time.Second
	}
	if options.AckWait == 0 {
		options.AckWait = 10 * time.Second
	}
	if options.Logf == nil {
		options.Logf = log.Printf
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	stopping, stop := context.WithCancel(context.Background())
	r := &Runner{
		client: client, options: options, instanceID: fmt.Sprintf("%x", id), handlers: map[string]Handler{},
		runs: map[string]*localRun{}, stopping: stopping, stop: stop,
		welcomed: make(chan struct{}), closed: make(chan struct{}),
	}
	r.changed = sync.NewCond(&r.mu)
	return r
}

// Handle registers the handler of tasks of kind "embedded:<name>" (before Start).
func (r *Runner) Handle(name string, handler Handler) { r.handlers[name] = handler }

// fatalReasons are refusals no reconnect can fix.
var fatalReasons = map[string]bool{
	"RUNNER_REPLACED": true, "RUNNER_NAME_IN_USE": true, "RUNNER_NAME_FORBIDDEN": true, "ROLE_FORBIDDEN": true,
	"TOKEN_MISSING": true, "TOKEN_INVALID": true, "INVALID_REQUEST": true,
}

// Start connects and returns once welcomed (or refused, or ctx ends); it reconnects by itself afterwards.
func (r *Runner) Start(ctx context.Context) (string, error) {
	go r.connectLoop()
	select {
	case <-r.welcomed:
		if r.Fatal != nil {
			return "", r.Fatal
		}
		return r.RunnerID, nil
	case <-ctx.Done():
		return "", AsError(ctx.Err())
	}
}

// Stop drains: it waits for the runs in hand to end, then (up to AckWait) for the supervisor to
// acknowledge their ends, then disconnects.
func (r *Runner) Stop() {
	r.mu.Lock()
	for r.executing() > 0 && r.stopping.Err() == nil {
		r.changed.Wait()
	}
	giveUp := time.AfterFunc(r.options.AckWait, func() { r.mu.Lock(); r.changed.Broadcast(); r.mu.Unlock() })
	until := time.Now().Add(r.options.AckWait)
	for len(r.runs) > 0 && r.stopping.Err() == nil && time.Now().Before(until) {
		r.changed.Wait()
	}
	giveUp.Stop()
	r.mu.Unlock()
	r.stop()
	<-r.closed
}

func (r *Runner) executing() int {
	count := 0
	for _, run := range r.runs {
		if run.finished == nil {
			count++
		}
	}
	return count
}

func (r *Runner) connectLoop() {
	defer close(r.closed)
	failures := 0
	once := sync.Once{}
	for r.stopping.Err() == nil {
		welcomed, err := r.session(func() { once.Do(func() { close(r.welcomed) }) })
		if r.stopping.Err() != nil {
			break
		}
		if err != nil && fatalReasons[err.Reason] {
			r.Fatal = err
			r.options.Logf("runner %s: refused by the supervisor: %v; stopping", r.options.Name, err)
			once.Do(func() { close(r.welcomed) })
			break
		}
		if welcomed {
			failures = 1
		} else {
			failures++
		}
		delay := r.options.Reconnect.Delay(failures)
		r.options.Logf("runner %s: disconnected (%v); reconnecting in %v", r.options.Name, err, delay)
		select {
		case <-r.stopping.Done():
		case <-time.After(delay):
		}
	}
	r.stop()
	r.mu.Lock()
	r.changed.Broadcast()
	r.mu.Unlock()
}

func (r *Runner) hello() *v1.ConnectRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	hello := &v1.ConnectRequest_Hello{
		Name: r.options.Name, Labels: r.options.Labels, Capacity: r.options.Capacity, Version: r.options.Version,
		InstanceId: r.instanceID,
	}
	for name := range r.handlers {
		hello.Kinds = append(hello.Kinds, "embedded:"+name)
	}
	for id, run := range r.runs {
		if run.finished == nil {
			hello.ActiveRunIds = append(hello.ActiveRunIds, id)
		} else {
			hello.FinishedRunIds = append(hello.FinishedRunIds, id)
		}
	}
	return &v1.ConnectRequest{Message: &v1.ConnectRequest_Hello_{Hello: hello}}
}

// session is one connection, from hello to the end of the stream.
func (r *Runner) session(onWelcome func()) (bool, *Error) {
	ctx, cancel := context.WithCancel(r.client.Context(r.stopping))
	defer cancel()
	stream, err := r.client.Runners.Connect(ctx)
	if err != nil {
		return false, AsError(err)
	}
	outbox := make(chan *v1.ConnectRequest, 1024)
	outbox <- r.hello()
	go func() { // the one sender: a gRPC stream's Send is not safe from several goroutines
		for {
			select {
			case <-ctx.Done():
				return
			case message := <-outbox:
				if stream.Send(message) != nil {
					return
				}
			}
		}
	}()
	defer func() {
		r.mu.Lock()
		if r.outbox == outbox {
			r.outbox = nil // reports are kept with their runs and sent again after a reconnect
		}
		r.mu.Unlock()
	}()
	welcomed := false
	for {
		response, err := stream.Recv()
		if err != nil {
			if r.stopping.Err() != nil {
				return welcomed, nil
			}
			return welcomed, AsError(err)
		}
		switch message := response.GetMessage().(type) {
		case *v1.ConnectResponse_Welcome_:
			welcomed = true
			r.RunnerID = message.Welcome.GetRunnerId()
			interval := message.Welcome.GetHeartbeatInterval().AsDuration()
			if interval < 100*time.Millisecond {
				interval = 5 * time.Second
			}
			r.mu.Lock()
			r.outbox = outbox
			r.resendUnacknowledged()
			r.mu.Unlock()
			go heartbeat(ctx, outbox, interval)
			onWelcome()
		case *v1.ConnectResponse_Assign_:
			r.execute(message.Assign)
		case *v1.ConnectResponse_Cancel_:
			r.cancel(message.Cancel)
		case *v1.ConnectResponse_Ack_:
			r.acknowledged(message.Ack)
		case *v1.ConnectResponse_Batch_:
			for _, item := range message.Batch.GetItems() {
				if assign := item.GetAssign(); assign != nil {
					r.execute(assign)
				} else if cancel := item.GetCancel(); cancel != nil {
					r.cancel(cancel)
				}
			}
		}
	}
}

func heartbeat(ctx context.Context, outbox chan<- *v1.ConnectRequest, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			select {
			case outbox <- &v1.ConnectRequest{Message: &v1.ConnectRequest_Heartbeat_{Heartbeat: &v1.ConnectRequest_Heartbeat{}}}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// write queues a message on the live session (with r.mu held); without one it is not needed.
func (r *Runner) write(message *v1.ConnectRequest) {
	if r.outbox != nil {
		select {
		case r.outbox <- message:
		default: // a session too far behind is about to fail; its reports are resent on the next one
		}
	}
}

func (r *Runner) resendUnacknowledged() {
	for id, run := range r.runs {
		r.write(started(id))
		for _, chunk := range run.pending {
			r.write(&v1.ConnectRequest{Message: &v1.ConnectRequest_Output_{Output: chunk}})
		}
		if run.finished != nil {
			r.write(&v1.ConnectRequest{Message: &v1.ConnectRequest_RunFinished_{RunFinished: run.finished}})
		}
	}
}

func started(runID string) *v1.ConnectRequest {
	message := &v1.ConnectRequest_RunStarted{RunId: runID}
	return &v1.ConnectRequest{Message: &v1.ConnectRequest_RunStarted_{RunStarted: message}}
}

func (r *Runner) acknowledged(ack *v1.ConnectResponse_Ack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, entry := range ack.GetRuns() {
		run := r.runs[entry.GetRunId()]
		if run == nil {
			continue
		}
		kept := run.pending[:0]
		for _, chunk := range run.pending {
			if chunk.GetSeq() > entry.GetOutputSeq() {
				kept = append(kept, chunk)
			}
		}
		run.pending = kept
		if entry.GetFinished() && run.finished != nil {
			delete(r.runs, entry.GetRunId())
		}
	}
	r.changed.Broadcast()
}

func (r *Runner) cancel(cancel *v1.ConnectResponse_Cancel) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run := r.runs[cancel.GetRunId()]
	if run == nil || run.finished != nil {
		return
	}
	if cancel.GetGracePeriod() != nil {
		run.grace = cancel.GetGracePeriod().AsDuration()
	}
	run.canceled = true
	run.cancel()
}

func (r *Runner) execute(assign *v1.ConnectResponse_Assign) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runs[assign.GetRunId()] != nil {
		return // a duplicate assign after a reconnect
	}
	deadline := time.Now().Add(60 * time.Second)
	if assign.GetDeadline() != nil {
		deadline = assign.GetDeadline().AsTime()
	}
	ctx, cancel := context.WithDeadline(r.stopping, deadline)
	run := &localRun{assign: assign, cancel: cancel, grace: r.options.GracePeriod}
	r.runs[assign.GetRunId()] = run
	r.write(started(assign.GetRunId()))
	runCtx := &RunContext{
		RunID: assign.GetRunId(), TaskID: assign.GetTaskId(), Attempt: assign.GetAttempt(), Deadline: deadline,
	}
	runCtx.log = func(line string) { r.output(run, []byte(line+"\n")) }
	go r.run(ctx, run, runCtx)
}

// maxOutputMessage is the largest output piece in one message (the supervisor refuses more).
const maxOutputMessage = 64 * 1024

func (r *Runner) output(run *localRun, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if run.finished != nil {
		return // an abandoned handler may keep logging; its run is over
	}
	for start := 0; start < len(data); start += maxOutputMessage {
		end := start + maxOutputMessage
		if end > len(data) {
			end = len(data)
		}
		run.seq++
		offset := run.offset
		chunk := &v1.ConnectRequest_Output{RunId: run.assign.GetRunId(), Stream: v1.OutputStream_OUTPUT_STREAM_STDOUT,
			Data: data[start:end], Seq: run.seq, Offset: &offset}
		run.offset += int64(end - start)
		run.pending = append(run.pending, chunk)
		r.write(&v1.ConnectRequest{Message: &v1.ConnectRequest_Output_{Output: chunk}})
	}
}

func (r *Runner) run(ctx context.Context, run *localRun, runCtx *RunContext) {
	finished := r.outcome(ctx, run, runCtx)
	run.cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	finished.RunId = run.assign.GetRunId()
	bytes := run.offset
	finished.OutputBytes = &bytes
	run.finished = finished
	r.write(&v1.ConnectRequest{Message: &v1.ConnectRequest_RunFinished_{RunFinished: finished}})
	r.changed.Broadcast()
}

// outcome calls the handler; once ctx ends (cancel, deadline) a handler still busy a grace period
// later is abandoned, and the run reported canceled or timed out.
func (r *Runner) outcome(ctx context.Context, run *localRun, runCtx *RunContext) *v1.ConnectRequest_RunFinished {
	embedded := run.assign.GetSpec().GetEmbedded()
	if embedded == nil {
		return failed("this runner runs embedded tasks only")
	}
	handler := r.handlers[embedded.GetHandler()]
	if handler == nil {
		return failed(fmt.Sprintf("no handler %q registered", embedded.GetHandler()))
	}
	type answer struct {
		value interface{}
		err   error
	}
	done := make(chan answer, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- answer{err: fmt.Errorf("handler panicked: %v", p)}
			}
		}()
		value, err := handler(ctx, embedded.GetPayload().AsMap(), runCtx)
		done <- answer{value, err}
	}()
	select {
	case got := <-done:
		// A handler that returns because its context ended still ends the run canceled (or timed out).
		if ctx.Err() == nil {
			return succeededOrFailed(got.value, got.err)
		}
	case <-ctx.Done():
		r.mu.Lock()
		grace := run.grace
		r.mu.Unlock()
		select {
		case <-done:
		case <-time.After(grace):
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if run.canceled {
		return &v1.ConnectRequest_RunFinished{Outcome: v1.RunOutcome_RUN_OUTCOME_CANCELED}
	}
	return &v1.ConnectRequest_RunFinished{Outcome: v1.RunOutcome_RUN_OUTCOME_TIMEOUT}
}

func failed(message string) *v1.ConnectRequest_RunFinished {
	return &v1.ConnectRequest_RunFinished{Outcome: v1.RunOutcome_RUN_OUTCOME_FAILED, Error: message}
}

func succeededOrFailed(value interface{}, err error) *v1.ConnectRequest_RunFinished {
	if err != nil {
		return failed(err.Error())
	}
	finished := &v1.ConnectRequest_RunFinished{Outcome: v1.RunOutcome_RUN_OUTCOME_SUCCEEDED}
	if value == nil {
		return finished
	}
	fields, ok := value.(map[string]interface{})
	if !ok {
		fields = map[string]interface{}{"value": value}
	}
	result, err := structpb.NewStruct(fields)
	if err != nil {
		return failed("the handler's result is not JSON: " + err.Error())
	}
	finished.Result = result
	return finished
}
