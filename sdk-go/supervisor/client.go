// Package supervisor is a thin Go client of the Supervisor task service: idempotent submits (a
// request id per submit, retried safely), paged lists, a watch that resumes from its last revision
// after a dropped stream, and one error type (*Error) decoded from the status details.
package supervisor

import (
	"context"
	"crypto/tls"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	v1 "github.com/supervisor/supervisor/sdk-go/gen/supervisor/v1"
)

// DefaultAddress is dialled when neither the address nor $SUPERVISOR_ADDR says otherwise.
const DefaultAddress = "127.0.0.1:50051"

// Options of Dial.
type Options struct {
	// Token is sent as "authorization: Bearer <token>" with every call.
	Token string
	// TLS: nil = plaintext; &tls.Config{} = the system roots.
	TLS *tls.Config
	// Deadline of each call attempt (default 30 s).
	Deadline time.Duration
	// Retry of idempotent calls (default DefaultRetry).
	Retry *RetryPolicy
	// DialOptions are added to the SDK's.
	DialOptions []grpc.DialOption
}

// Client talks to one supervisor over one connection. Its generated clients are exported for the
// calls it does not wrap.
type Client struct {
	Conn      *grpc.ClientConn
	Tasks     v1.TaskServiceClient
	Runners   v1.RunnerServiceClient
	Schedules v1.ScheduleServiceClient
	Dispatch  v1.DispatchServiceClient
	token     string
	deadline  time.Duration
	retry     RetryPolicy
}

// Dial connects lazily to address ("" = $SUPERVISOR_ADDR, else DefaultAddress).
func Dial(address string, options Options) (*Client, error) {
	if address == "" {
		address = os.Getenv("SUPERVISOR_ADDR")
	}
	if address == "" {
		address = DefaultAddress
	}
	dial := []grpc.DialOption{grpc.WithInsecure()}
	if options.TLS != nil {
		dial = []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(options.TLS))}
	}
	dial = append(dial, forceCodec)
	conn, err := grpc.Dial(address, append(dial, options.DialOptions...)...)
	if err != nil {
		return nil, AsError(err)
	}
	client := &Client{
		Conn:      conn,
		Tasks:     v1.NewTaskServiceClient(conn),
		Runners:   v1.NewRunnerServiceClient(conn),
		Schedules: v1.NewScheduleServiceClient(conn),
		Dispatch:  v1.NewDispatchServiceClient(conn),
		token:     options.Token,
		deadline:  options.Deadline,
		retry:     DefaultRetry,
	}
	if client.deadline == 0 {
		client.deadline = 30 * time.Second
	}
	if options.Retry != nil {
		client.retry = *options.Retry
	}
	return client, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.Conn.Close() }

// Context adds the token to ctx: use it for calls made through the generated clients.
func (c *Client) Context(ctx context.Context) context.Context {
	if c.token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
}

// idempotent runs a call that is safe to repeat, with the client's token, deadline and retries.
func (c *Client) idempotent(ctx context.Context, call func(context.Context) error) error {
	return withRetry(c.Context(ctx), c.retry, c.deadline, call)
}

// Submit submits a task. A request id (UUIDv7) is generated when requestID is "", so a retry never
// makes a second task; the same id with the same spec returns the original task.
func (c *Client) Submit(ctx context.Context, spec *v1.TaskSpec, requestID string) (*v1.Task, error) {
	if requestID == "" {
		requestID = requestIDs.next()
	}
	request := &v1.SubmitTaskRequest{Spec: spec, RequestId: requestID}
	var task *v1.Task
	err := c.idempotent(ctx, func(ctx context.Context) error {
		response, err := c.Tasks.SubmitTask(ctx, request)
		task = response.GetTask()
		return err
	})
	return task, err
}

// SubmitBatch submits tasks in one transaction: all or none. Each gets a generated request id.
func (c *Client) SubmitBatch(ctx context.Context, specs []*v1.TaskSpec) ([]*v1.Task, error) {
	request := &v1.BatchSubmitTasksRequest{}
	for _, spec := range specs {
		request.Requests = append(request.Requests, &v1.SubmitTaskRequest{Spec: spec, RequestId: requestIDs.next()})
	}
	var tasks []*v1.Task
	err := c.idempotent(ctx, func(ctx context.Context) error {
		response, err := c.Tasks.BatchSubmitTasks(ctx, request)
		tasks = response.GetTasks()
		return err
	})
	return tasks, err
}

// Get returns one task; unknown: NOT_FOUND, reason TASK_NOT_FOUND.
func (c *Client) Get(ctx context.Context, id string) (*v1.Task, error) {
	var task *v1.Task
	err := c.idempotent(ctx, func(ctx context.Context) error {
		response, err := c.Tasks.GetTask(ctx, &v1.GetTaskRequest{Id: id})
		task = response.GetTask()
		return err
	})
	return task, err
}

// ListPage returns one page of tasks, newest first.
func (c *Client) ListPage(ctx context.Context, request *v1.ListTasksRequest) (*v1.ListTasksResponse, error) {
	var page *v1.ListTasksResponse
	err := c.idempotent(ctx, func(ctx context.Context) (err error) {
		page, err = c.Tasks.ListTasks(ctx, request)
		return err
	})
	return page, err
}

// List calls each for every task matching filter, newest first, fetching pages as it goes;
// it stops at the first error (each's included).
func (c *Client) List(ctx context.Context, filter *v1.TaskFilter, pageSize int32, each func(*v1.Task) error) error {
	token := ""
	for {
		page, err := c.ListPage(ctx, &v1.ListTasksRequest{Filter: filter, PageSize: pageSize, PageToken: token})
		if err != nil {
			return err
		}
		for _, task := range page.GetTasks() {
			if err := each(task); err != nil {
				return err
			}
		}
		if token = page.GetNextPageToken(); token == "" {
			return nil
		}
	}
}

// Cancel cancels a task (idempotent: an already canceled task is returned as it is).
func (c *Client) Cancel(ctx context.Context, id, reason string) (*v1.Task, error) {
	var task *v1.Task
	err := c.idempotent(ctx, func(ctx context.Context) error {
		response, err := c.Tasks.CancelTask(ctx, &v1.CancelTaskRequest{Id: id, Reason: reason})
		task = response.GetTask()
		return err
	})
	return task, err
}

// ListRuns returns every attempt of a task, oldest first.
func (c *Client) ListRuns(ctx context.Context, taskID string) ([]*v1.Run, error) {
	var runs []*v1.Run
	token := ""
	for {
		var page *v1.ListTaskRunsResponse
		err := c.idempotent(ctx, func(ctx context.Context) (err error) {
			page, err = c.Tasks.ListTaskRuns(ctx, &v1.ListTaskRunsRequest{TaskId: taskID, PageSize: 1000, PageToken: token})
			return err
		})
		if err != nil {
			return nil, err
		}
		runs = append(runs, page.GetRuns()...)
		if token = page.GetNextPageToken(); token == "" {
			return runs, nil
		}
	}
}

// Output streams a run's output events (attempt 0 = the latest); with follow, until the run ends.
// Read it with Recv until io.EOF; errors from Recv can be decoded with AsError.
func (c *Client) Output(
	ctx context.Context, taskID string, attempt int32, follow bool,
) (v1.TaskService_StreamTaskOutputClient, error) {
	request := &v1.StreamTaskOutputRequest{TaskId: taskID, Attempt: attempt, Follow: follow}
	stream, err := c.Tasks.StreamTaskOutput(c.Context(ctx), request)
	if err != nil {
		return nil, AsError(err)
	}
	return stream, nil
}

// Terminal reports whether a task phase is one a task does not leave.
func Terminal(phase v1.TaskPhase) bool {
	switch phase {
	case v1.TaskPhase_TASK_PHASE_SUCCEEDED, v1.TaskPhase_TASK_PHASE_FAILED, v1.TaskPhase_TASK_PHASE_TIMEOUT,
		v1.TaskPhase_TASK_PHASE_CANCELED, v1.TaskPhase_TASK_PHASE_EXHAUSTED:
		return true
	}
	return false
}

// WaitFor returns the task once it is in a terminal phase (or ctx ends).
func (c *Client) WaitFor(ctx context.Context, taskID string) (*v1.Task, error) {
	task, err := c.Get(ctx, taskID)
	if err != nil || Terminal(task.GetStatus().GetPhase()) {
		return task, err
	}
	filter := &v1.TaskFilter{Slot: task.GetSpec().GetSlot()}
	if filter.Slot == "" {
		filter = &v1.TaskFilter{IdPrefix: taskID}
	}
	watch := c.Watch(ctx, &v1.WatchTasksRequest{SinceRevision: task.GetRevision(), Filter: filter})
	defer watch.Close()
	for {
		event, err := watch.Next()
		if err != nil {
			return nil, err
		}
		if event.GetTask().GetId() == taskID && Terminal(event.GetTask().GetStatus().GetPhase()) {
			return event.GetTask(), nil
		}
	}
}
