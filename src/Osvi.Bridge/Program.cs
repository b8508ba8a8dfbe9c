using Osvi.Bridge.Hosting;

return await BridgeProgram.RunAsync(args);
