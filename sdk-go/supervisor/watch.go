package supervisor

import (
	"context"
	"io"

	v1 "github.com/supervisor/supervisor/sdk-go/gen/supervisor/v1"
)

// Watch is WatchTasks as a resuming iterator: a dropped stream (a server restart, the network, or
// WATCH_TOO_SLOW) is opened again from the last revision delivered, so no change is missed or
// repeated. Final errors (REVISION_COMPACTED, a bad filter) are returned by Next as *Error.
type Watch struct {
	client      *Client
	ctx         context.Context
	cancel      context.CancelFunc
	filter      *v1.TaskFilter
	since       int64
	sendInitial bool
	stream      v1.TaskService_WatchTasksClient
	streamEnd   context.CancelFunc
	failures    int
	// Reconnects counts the streams opened again after a drop.
	Reconnects int
}

// Watch starts watching; call Next for each event and Close when done.
func (c *Client) Watch(ctx context.Context, request *v1.WatchTasksRequest) *Watch {
	ctx, cancel := context.WithCancel(c.Context(ctx))
	return &Watch{
		client: c, ctx: ctx, cancel: cancel,
		filter: request.GetFilter(), since: request.GetSinceRevision(), sendInitial: request.GetSendInitial(),
	}
}

// Revision is the revision the next stream would resume from.
func (w *Watch) Revision() int64 { return w.since }

// Close ends the watch (from any goroutine).
func (w *Watch) Close() { w.cancel() }

// Next returns the next event, resuming the stream as often as it drops.
func (w *Watch) Next() (*v1.WatchTasksResponse, error) {
	for w.ctx.Err() == nil {
		if w.stream == nil {
			streamCtx, end := context.WithCancel(w.ctx)
			request := &v1.WatchTasksRequest{SinceRevision: w.since, Filter: w.filter, SendInitial: w.sendInitial}
			stream, err := w.client.Tasks.WatchTasks(streamCtx, request)
			if err != nil {
				end()
				if werr := w.retryable(err); werr != nil {
					return nil, werr
				}
				continue
			}
			if w.streamEnd != nil {
				w.Reconnects++
			}
			w.stream, w.streamEnd = stream, end
		}
		event, err := w.stream.Recv()
		if err != nil {
			w.streamEnd()
			w.stream = nil
			if err == io.EOF {
				continue // the server ended the stream (it shut down): resume
			}
			if werr := w.retryable(err); werr != nil {
				return nil, werr
			}
			continue
		}
		w.failures = 0
		if event.GetType() == v1.EventType_EVENT_TYPE_BOOKMARK {
			w.sendInitial = false // the initial snapshot, if any, is complete
		}
		if !w.sendInitial && event.GetRevision() > w.since {
			w.since = event.GetRevision()
		}
		return event, nil
	}
	return nil, AsError(w.ctx.Err())
}

// retryable waits out a resumable failure (nil) or returns the final one.
func (w *Watch) retryable(err error) error {
	failure := AsError(err)
	if w.ctx.Err() != nil {
		return failure
	}
	if !IsRetryable(failure) && failure.Reason != "WATCH_TOO_SLOW" {
		return failure
	}
	w.failures++
	select {
	case <-w.ctx.Done():
		return AsError(w.ctx.Err())
	case <-timeAfter(w.client.retry.Delay(w.failures)):
		return nil
	}
}
