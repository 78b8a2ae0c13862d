import { contextLogger, timerFunction } from './registry';
import { getServices } from './services';

/** The poll cycle, on the schedule of the POLL_SCHEDULE app setting. */
export const pollJobs = timerFunction('pollJobs', {
  schedule: '%POLL_SCHEDULE%',
  handler: async (timer, context) => {
    const { poller, flushMetrics } = await getServices();
    const logger = contextLogger(context);
    if (timer.isPastDue) logger.warn('poll cycle is past due: catching up in one pass', {});
    try {
      await poller.withLogger(logger).runCycle();
    } finally {
      await flushMetrics(logger);
    }
  },
});
