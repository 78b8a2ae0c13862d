import { contextLogger, timerFunction } from './registry';
import { getServices } from './services';

/**
 * Hands on what a failed `notifications` queue send left behind (stored transitions and delivery lanes waiting for
 * over a minute), on the poll cycle's schedule (POLL_SCHEDULE).
 */
export const sweepNotifications = timerFunction('sweepNotifications', {
  schedule: '%POLL_SCHEDULE%',
  handler: async (_timer, context) => {
    const { notifications } = await getServices();
    const swept = await notifications.withLogger(contextLogger(context)).sweep();
    if (swept.jobs + swept.lanes > 0) contextLogger(context).info('notifications swept', swept);
  },
});
